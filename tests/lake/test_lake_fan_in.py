"""Fan-in from many hosts: the OpenTelemetry Collector's `file` and `awss3` exporter output, read from a
directory or from S3 (a local S3-compatible server on 127.0.0.1), into a lake on S3; rollups and
reports on S3 equal to those over a DuckDB file of the same spans."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path
from typing import Any

import orjson
import pytest
import zstandard
from support.lake import assert_reports_equal, run_cli
from support.otlp import otlp_json, otlp_proto, span

from modelmeter.lake.location import Lake, s3_filesystem
from modelmeter.reports.source import open_lake

NOV_2_2026_NS = 1_793_577_600 * 10**9  # 2026-11-02T00:00:00Z
MODELS = [("anthropic", "claude-sonnet-4-5"), ("openai", "gpt-4o-mini"), ("openai", "gpt-4o")]


def genai_spans(count: int, first: int) -> list[dict[str, Any]]:
    """GenAI calls (current semantic conventions), one every 40 minutes from 2026-11-02."""
    spans = []
    for number in range(first, first + count):
        provider, model = MODELS[number % len(MODELS)]
        attributes = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": provider,
            "gen_ai.request.model": model,
            "gen_ai.usage.input_tokens": 1000 + number,
            "gen_ai.usage.output_tokens": 100 + number % 50,
        }
        spans.append(span(attributes, name=f"chat {model}", start=NOV_2_2026_NS + number * 2400 * 10**9))
    return spans


def collector_output(root: Path) -> int:
    """Files exactly as a Collector gateway's exporters write them; returns the number of spans.

    - `file` exporter, default `format: json`: one request per line (`traces.jsonl`, rotated copies);
    - `file` exporter, `format: proto` + `compression: zstd`: each request zstd-compressed and
      length-prefixed (4 bytes, big-endian);
    - `awss3` exporter: one object per batch under `year=/month=/day=/hour=/minute=`, `otlp_json`
      or `otlp_proto` marshaler, `compression: gzip`.
    """
    files = root / "file-exporter"
    files.mkdir(parents=True)
    lines = [orjson.dumps(otlp_json(genai_spans(20, 20 * i))) for i in range(3)]
    (files / "traces.jsonl").write_bytes(b"\n".join(lines[:2]) + b"\n")
    (files / "traces-2026-11-03T01-00-00.000.jsonl").write_bytes(lines[2] + b"\n")
    framed = b""
    for i in range(3, 5):
        packed = zstandard.ZstdCompressor().compress(otlp_proto(genai_spans(20, 20 * i)))
        framed += struct.pack(">I", len(packed)) + packed
    (files / "traces.proto.zst").write_bytes(framed)
    s3 = root / "awss3" / "gateway"
    for i in range(5, 9):
        spans = genai_spans(20, 20 * i)
        hour = (20 * i * 2 // 3) % 24
        folder = s3 / f"year=2026/month=11/day={2 + 20 * i * 2 // 3 // 24:02d}/hour={hour:02d}/minute=00"
        folder.mkdir(parents=True, exist_ok=True)
        if i % 2:
            (folder / f"traces_{i:09d}.json.gz").write_bytes(gzip.compress(orjson.dumps(otlp_json(spans))))
        else:
            (folder / f"traces_{i:09d}.binpb.gz").write_bytes(gzip.compress(otlp_proto(spans)))
    return 9 * 20


def test_collector_exporter_output_from_a_directory_reaches_the_lake(tmp_path: Path) -> None:
    spans = collector_output(tmp_path / "otel")
    good = orjson.dumps(otlp_json(genai_spans(1, 500)))
    (tmp_path / "otel" / "file-exporter" / "traces-torn.jsonl").write_bytes(good + b"\n" + good[:40] + b"\n")
    lake = tmp_path / "lake"
    out = run_cli("ingest", tmp_path / "otel", "--lake", lake)
    assert out.returncode == 3 and "quarantine" in out.stderr, out.stderr  # ingested, with bad input kept
    kept = (
        Lake.at(lake)
        .connect()
        .sql(f"SELECT path, line, reason FROM read_parquet('{lake}/quarantine/*.parquet')")
        .fetchall()
    )
    assert [(Path(p).name, line) for p, line, _ in kept] == [("traces-torn.jsonl", 2)]
    spans += 1
    con = open_lake(str(lake))
    assert con.sql("SELECT count(*), count(DISTINCT span_id) FROM calls").fetchall() == [(spans, spans)]
    assert con.sql(
        "SELECT count(*) FROM calls WHERE provider IS NULL OR input_tokens IS NULL"
    ).fetchall() == [(0,)]
    assert len(Lake.at(lake).files("calls")) == 6  # one file per day: spans 40 minutes apart


@pytest.mark.timeout(300)
def test_s3_in_s3_lake_s3_rollups_and_reports(
    tmp_path: Path, s3_server: dict[str, str], policy: Path
) -> None:
    spans = collector_output(tmp_path / "otel")
    import boto3

    s3 = boto3.client("s3")
    for bucket in ("otel-gateway", "telemetry"):
        s3.create_bucket(Bucket=bucket)
    for path in (tmp_path / "otel").rglob("*"):
        if path.is_file():
            key = (
                str(path.relative_to(tmp_path / "otel"))
                .replace("awss3/", "")
                .replace("file-exporter", "files")
            )
            s3.upload_file(str(path), "otel-gateway", key)
    fs = s3_filesystem()
    assert len(fs.find("otel-gateway")) == 7
    lake = "s3://telemetry/modelmeter"
    out = run_cli(
        "ingest", "s3://otel-gateway/gateway", "s3://otel-gateway/files", "--lake", lake, env=s3_server
    )
    assert out.returncode == 0, out.stderr
    again = run_cli("ingest", "s3://otel-gateway/", "--lake", lake, env=s3_server)  # the same objects again
    assert again.returncode == 0, again.stderr
    assert len(Lake.at(lake).files("calls")) == 5
    rolled = run_cli("rollup", "--lake", lake, env=s3_server)
    assert rolled.returncode == 0 and "rolled up 5 day(s)" in rolled.stderr, rolled.stderr
    assert len(fs.find("telemetry/modelmeter/rollups")) == 15
    db = tmp_path / "reference.duckdb"
    assert run_cli("ingest", tmp_path / "otel", "--db", db, "-q").returncode == 0
    assert_reports_equal(lake, db, policy, kinds=("weekly", "inventory"))  # every kind: test_lake_ingest
    printed = run_cli("report", "weekly", "--lake", lake, "--format", "md", env=s3_server)
    assert printed.returncode == 0 and "Weekly review" in printed.stdout, printed.stderr
    assert open_lake(lake).sql("SELECT count(*) FROM calls").fetchall() == [(spans,)]
    day = Lake.at(lake).files("calls")[0].split("/")[1][4:]
    compacted = run_cli("lake", "compact", "--lake", lake, "--day", day, env=s3_server)
    assert compacted.returncode == 0, compacted.stderr


def test_unusable_s3_input_is_one_line(tmp_path: Path, s3_server: dict[str, str]) -> None:
    out = run_cli("ingest", "s3://no-such-bucket/prefix", "--lake", tmp_path / "lake", env=s3_server)
    assert out.returncode == 1 and "Traceback" not in out.stderr and out.stderr.count("\n") == 1, out.stderr
    for uri in ("s3://", "s3://no-such-bucket/lake"):
        report = run_cli("report", "cost", "--lake", uri, env=s3_server)
        assert report.returncode == 4 and "Traceback" not in report.stderr, report.stderr
        assert report.stderr.count("\n") == 1, report.stderr
