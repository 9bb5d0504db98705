"""Input that must not stop the pipeline: bad spans in every source are quarantined with their
place and reason while the rest ingests; a damaged database is one line saying what to do; the
database is private whatever the umask. The real CLI in a subprocess."""

from __future__ import annotations

import contextlib
import gzip
import os
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest
from support.ingest import cli, record, rows, run_cli, write_ndjson
from support.otlp import framed, genai_current, otlp_json, otlp_proto, span


def _request_with(bad: dict[str, Any]) -> dict[str, Any]:
    """A request of two good spans and one changed by `bad`."""
    request = otlp_json([span(genai_current()) for _ in range(3)])
    request["resourceSpans"][0]["scopeSpans"][1]["spans"][0].update(bad)
    return request


BAD_SPANS = {
    "int-past-64-bits": {"attributes": [{"key": "gen_ai.request.seed", "value": {"intValue": str(2**80)}}]},
    "attribute-without-key": {"attributes": [{"value": {"stringValue": "x"}}]},
    "time-out-of-range": {"startTimeUnixNano": str(2**64)},
    "tokens-past-64-bits": {
        "attributes": [
            {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
            {"key": "gen_ai.provider.name", "value": {"stringValue": "openai"}},
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": str(2**63)}},
        ]
    },
}


@pytest.mark.parametrize("bad", BAD_SPANS)
@pytest.mark.parametrize("shape", ["json-lines", "framed", "gzip-json"])
def test_a_bad_span_in_an_otlp_file_is_quarantined_with_its_place_and_the_rest_ingests(
    tmp_path: Path, bad: str, shape: str
) -> None:
    lines = [orjson.dumps(otlp_json([span(genai_current())])), orjson.dumps(_request_with(BAD_SPANS[bad]))]
    data = {
        "json-lines": b"\n".join(lines) + b"\n",
        "framed": framed([otlp_proto([span(genai_current())]), lines[1]]),
        "gzip-json": gzip.compress(lines[1]),
    }[shape]
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "export.bin").write_bytes(data)
    db = tmp_path / "db.duckdb"

    first = run_cli("ingest", str(tmp_path / "in"), "--db", str(db))
    again = run_cli("ingest", str(tmp_path / "in"), "--db", str(db))

    assert first.returncode == 3, first.stderr  # 3: ingested, with quarantined input
    assert "Traceback" not in first.stderr
    assert rows(db, "SELECT count(*) FROM calls") == [(2 if shape == "gzip-json" else 3,)]
    [(line, reason)] = rows(db, "SELECT line, reason FROM quarantine")
    assert line == (1 if shape == "gzip-json" else 2) and reason
    assert again.returncode == 0, "a bad span never blocks a later run"


def test_a_bad_record_among_spool_records_is_quarantined_and_the_rest_ingests(tmp_path: Path) -> None:
    good = [record() for _ in range(3)]
    spool = tmp_path / "spool"
    write_ndjson(spool / "spans-1.ndjson", good)
    with (spool / "spans-1.ndjson").open("ab") as handle:
        handle.write(orjson.dumps({**record(), "attributes": {"big": "x"}, "input_tokens": 2**63}) + b"\n")
        handle.write(b'{"kind": "dropped", "reason": "queue_full", "count": -1}\n')
    db = tmp_path / "db.duckdb"
    done = run_cli("ingest", str(spool), "--db", str(db))
    assert done.returncode == 3, done.stderr
    assert rows(db, "SELECT count(*) FROM calls") == [(3,)]
    assert [r[0] for r in rows(db, "SELECT line FROM quarantine ORDER BY line")] == [4, 5]


def _damaged_database(tmp_path: Path, damage: str) -> tuple[Path, dict[str, str]]:
    home = tmp_path / "home"
    write_ndjson(home / "spool" / "spans-1.ndjson", [record() for _ in range(3000)])
    env = {"MODELMETER_HOME": str(home)}
    assert run_cli("ingest", env=env).returncode == 0
    db = home / "modelmeter.duckdb"
    data = bytearray(db.read_bytes())
    if damage == "truncated":  # as a full disk or a bad copy leaves it
        data = data[: len(data) // 2]
    else:  # bytes changed inside every data block: found only when a block is read
        for block in range(3 * 4096 + 256 * 1024, len(data), 256 * 1024):
            data[block + 100 : block + 5000] = os.urandom(4900)
    db.write_bytes(bytes(data))
    return db, env


@pytest.mark.parametrize(
    "command", [["ingest"], ["reprice"], ["report", "cost"], ["report", "weekly", "--format", "html"]]
)
@pytest.mark.parametrize("damage", ["truncated", "corrupted"])
def test_a_damaged_database_is_one_line_naming_it_and_what_to_do(
    tmp_path: Path, command: list[str], damage: str
) -> None:
    db, env = _damaged_database(tmp_path, damage)
    done = run_cli(*command, env=env)
    assert done.returncode != 0
    message = done.stderr.strip()
    assert "Traceback" not in done.stderr and len(message.splitlines()) == 1, message
    assert str(db) in message and "damaged" in message and "restore it from a backup" in message
    assert "the spool still holds 1 files" in message and "modelmeter ingest" in message


def test_a_database_that_is_not_one_says_so_and_that_the_spool_cannot_rebuild_it(tmp_path: Path) -> None:
    db = tmp_path / "modelmeter.duckdb"
    db.write_bytes(b"not a database" * 100)
    done = run_cli("report", "cost", "--db", str(db), env={"MODELMETER_HOME": str(tmp_path)})
    message = " ".join(done.stderr.split())
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "damaged" in message and "holds no files" in message


@pytest.mark.parametrize("umask", [0o000, 0o022])
def test_the_database_is_private_whatever_the_umask_also_while_it_is_written(
    tmp_path: Path, umask: int
) -> None:
    db = tmp_path / "out" / "modelmeter.duckdb"
    write_ndjson(tmp_path / "first" / "spans-0.ndjson", [record()])
    assert run_cli("ingest", str(tmp_path / "first"), "--db", str(db)).returncode == 0
    for number in range(4):  # a second run: its write-ahead log is new, made mid-run
        write_ndjson(tmp_path / "spool" / f"spans-{number}.ndjson", [record() for _ in range(3000)])
    seen: dict[str, int] = {}
    ingest = subprocess.Popen(
        [cli(), "ingest", str(tmp_path / "spool"), "--db", str(db), "--batch-spans", "3000"],
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: os.umask(umask),
    )
    while ingest.poll() is None:  # the write-ahead log and spill files exist only mid-run
        for path in db.parent.rglob("*"):
            with contextlib.suppress(FileNotFoundError):
                seen[path.name] = path.stat().st_mode & 0o777
    assert ingest.wait() == 0, ingest.stderr.read() if ingest.stderr else ""
    seen[db.name] = db.stat().st_mode & 0o777
    assert {name: mode for name, mode in seen.items() if mode & 0o077} == {}
    assert seen[db.name] == 0o600
