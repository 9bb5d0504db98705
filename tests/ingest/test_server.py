"""`modelmeter serve`: the OTLP/HTTP receiver, run as the real CLI and spoken to with a real HTTP client."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from support.ingest import rows, run_cli
from support.otlp import genai_current, genai_deprecated, otlp_json, otlp_proto, span
from support.serve import Receiver, free_port

from modelmeter.ingest import otlp
from modelmeter.ingest.pipeline import ingest_paths

TOKEN = "test-token-FAKE-0000"
PROTOBUF = {"Content-Type": "application/x-protobuf"}
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    server = Receiver(tmp_path / "spool")
    yield server
    if server.process.poll() is None:
        server.stop()


def test_accepted_spans_are_durable_in_the_spool_before_the_answer_and_ingest_finds_them(
    receiver: Receiver, tmp_path: Path
) -> None:
    protobuf_spans = [span(genai_current()) for _ in range(3)]
    json_spans = [span(genai_deprecated()) for _ in range(2)]
    with httpx.Client() as client:
        first = client.post(receiver.url, content=otlp_proto(protobuf_spans), headers=PROTOBUF)
        body = gzip.compress(orjson.dumps(otlp_json(json_spans)))
        second = client.post(receiver.url, content=body, headers={**JSON, "Content-Encoding": "gzip"})

    assert first.status_code == 200 and first.headers["content-type"] == "application/x-protobuf"
    assert not ExportTraceServiceResponse.FromString(first.content).HasField("partial_success")
    assert second.status_code == 200 and second.json() == {}
    # acknowledged means on disk already, while the server still runs
    open_files = list(receiver.spool.glob("*.open"))
    assert len(open_files) == 1
    spooled = [p.decoded for p in otlp.iter_parts(open_files[0].read_bytes())]
    assert sum(len(d.spans) for d in spooled if d) == 5

    receiver.stop()
    assert not list(receiver.spool.glob("*.open"))
    summary = ingest_paths([receiver.spool], tmp_path / "db.duckdb")
    assert summary.calls_added == 5
    stored = {r[0] for r in rows(tmp_path / "db.duckdb", "SELECT span_id FROM calls")}
    assert stored == {s["span_id"] for s in protobuf_spans + json_spans}


def test_malformed_oversized_and_unknown_content_are_refused(receiver: Receiver) -> None:
    with httpx.Client() as client:
        broken_json = client.post(receiver.url, content=b'{"resourceSpans": [', headers=JSON)
        broken_proto = client.post(receiver.url, content=b"\x0a\xff\xff\xff", headers=PROTOBUF)
        too_big = client.post(receiver.url, content=b"\x0a" * 300_000, headers=PROTOBUF)
        too_big_unzipped = client.post(
            receiver.url, content=gzip.compress(b" " * 400_000), headers={**JSON, "Content-Encoding": "gzip"}
        )
        text = client.post(receiver.url, content=b"hello", headers={"Content-Type": "text/plain"})
        wrong_path = client.post(receiver.url.replace("traces", "metrics"), content=b"{}", headers=JSON)
    assert broken_json.status_code == 400 and "broken JSON" in broken_json.json()["message"]
    assert broken_proto.status_code == 400
    assert too_big.status_code == 413
    assert too_big_unzipped.status_code == 413
    assert text.status_code == 415
    assert wrong_path.status_code == 404
    assert not any(receiver.spool.glob("*")), "nothing refused reaches the spool"


def test_spans_with_bad_ids_are_a_partial_success_in_the_request_encoding(receiver: Receiver) -> None:
    request = otlp_json([span(genai_current()), span(genai_current())])
    request["resourceSpans"][0]["scopeSpans"][1]["spans"][0]["traceId"] = "not-a-trace-id"
    with httpx.Client() as client:
        answer = client.post(receiver.url, content=orjson.dumps(request), headers=JSON)
    assert answer.status_code == 200
    partial = answer.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "1" and "invalid traceId" in partial["errorMessage"]


def test_binding_beyond_loopback_needs_a_token(tmp_path: Path) -> None:
    refused = run_cli(
        "serve", "--host", "0.0.0.0", "--port", str(free_port()), env={"MODELMETER_SERVE_TOKEN": ""}
    )
    assert refused.returncode == 64
    assert "without a bearer token" in refused.stderr


def test_with_a_token_only_requests_bearing_it_are_accepted(tmp_path: Path) -> None:
    server = Receiver(tmp_path / "spool", "--token", TOKEN)
    try:
        body = otlp_proto([span(genai_current())])
        with httpx.Client() as client:
            missing = client.post(server.url, content=body, headers=PROTOBUF)
            wrong = client.post(
                server.url, content=body, headers={**PROTOBUF, "Authorization": "Bearer nope"}
            )
            right = client.post(
                server.url, content=body, headers={**PROTOBUF, "Authorization": f"Bearer {TOKEN}"}
            )
        assert (missing.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    finally:
        server.stop()
