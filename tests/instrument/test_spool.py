"""Spool files, the span pipeline around the app's own tracing, and install/uninstall discipline."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import re
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import orjson
import pytest
from opentelemetry import trace
from opentelemetry.instrumentation.httpx import HTTPX2ClientInstrumentor
from support.recorder import Recorder
from support.sdk_calls import CASES, PARAMS, abandon_a_stream

import modelmeter
from modelmeter import semconv as sc
from modelmeter.instrument import keys
from modelmeter.instrument.spool import Spool, SpoolWriter
from modelmeter.mock import MockProviders
from modelmeter.record import RECORD_FIELDS

MESSAGES: Any = [{"role": "user", "content": "Summarise the weekly cost report in one line."}]
CLOSED_NAME = re.compile(r"^spans-\d{8}T\d{6}-[^-]+-\d+-\d+\.ndjson$")


def _records(directory: Path) -> list[dict[str, Any]]:
    return [
        orjson.loads(line)
        for path in sorted(directory.glob("*.ndjson"))
        for line in path.read_bytes().splitlines()
    ]


def test_spans_reach_closed_spool_files_as_flat_records(mock: MockProviders, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    modelmeter.instrument(spool=str(spool), endpoints=mock.endpoints, workflow="digest", team="core")
    try:
        client = openai.OpenAI(
            base_url=mock.base_url("openai"), api_key="sk-proj-FAKE0000000000", max_retries=0
        )
        with modelmeter.tag(tier="small", customer="acme"):
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        assert modelmeter.flush()
    finally:
        modelmeter.uninstrument()
    files = sorted(p.name for p in spool.iterdir())
    assert len(files) == 1 and CLOSED_NAME.match(files[0]), files
    (record,) = _records(spool)
    served = mock.calls[0]
    assert set(record) <= set(RECORD_FIELDS) and record["tier"] == "small"  # only keys with a value
    assert record.keys().isdisjoint(sc.REPEATS_OF_COLUMNS) and record["attributes"].keys().isdisjoint(
        sc.REPEATS_OF_COLUMNS
    )
    assert record["source"] == "modelmeter" and record["name"] == "chat gpt-4o-mini"
    assert (record["workflow"], record["team"], record["tier"]) == ("digest", "core", "small")
    assert record["attributes"][sc.MM_TAG_PREFIX + "customer"] == "acme"
    assert (record["response_id"], record["request_id"]) == (served.response_id, served.request_id)
    assert served.usage is not None and record["input_tokens"] == served.usage.input_tokens
    assert isinstance(record["cost_usd"], str) and record["cost_source"] == "genai-prices"
    assert len(record["trace_id"]) == 32 and len(record["span_id"]) == 16
    assert record["end_ns"] - record["start_ns"] > 0 and record["duration_ms"] > 0


# what differs between two calls of the same case: ids, clocks and the resource
_PER_CALL = {"trace_id", "span_id", "call_id", "response_id", "request_id", "start_ns", "end_ns"}
_PER_CALL |= {"duration_ms", "ttft_ms", "service", sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK}
_PER_CALL |= {sc.MM_GATEWAY_GENERATION_ID}


def _same_call_parts(record: dict[str, Any]) -> dict[str, Any]:
    """The record without what differs per call (rate-limit headers: only which ones were sent)."""
    kept = {k: v for k, v in record.items() if k not in _PER_CALL}
    if "attributes" in kept:
        kept["attributes"] = {
            k: None if k.startswith(sc.MM_RATELIMIT_PREFIX) else v
            for k, v in kept["attributes"].items()
            if k not in _PER_CALL
        }
    return kept


@pytest.mark.parametrize(("name", "stream", "is_async"), PARAMS)
async def test_a_call_is_recorded_alike_whether_a_span_listens_or_not(
    mock: MockProviders, fake_keys: dict[str, str], tmp_path: Path, name: str, stream: bool, is_async: bool
) -> None:
    """With the app's provider listening, a call is described on the app's thread as its body ends
    (its span needs the attributes); with no one listening, on the spool's thread. The records agree,
    and the span carries what the record says."""
    app = Recorder()
    modelmeter.instrument(
        tracer_provider=app.provider, spool=str(tmp_path / "with-span"), endpoints=mock.endpoints
    )
    try:
        await CASES[name].run(mock, fake_keys, stream, is_async)
        assert modelmeter.flush()
    finally:
        modelmeter.uninstrument()
    (expected,) = _records(tmp_path / "with-span")
    (span,) = app.spans()
    assert f"{span.context.span_id:016x}" == expected["span_id"] and span.name == expected["name"]
    attributes = dict(span.attributes or {})
    assert attributes[sc.MM_CALL_ID] == expected["call_id"]
    assert attributes.get(sc.GEN_AI_USAGE_INPUT_TOKENS) == expected.get("input_tokens")
    mock.reset()  # the same prompt again would be served from the mock's prompt cache

    modelmeter.instrument(spool=str(tmp_path / "record-only"), endpoints=mock.endpoints)
    try:
        await CASES[name].run(mock, fake_keys, stream, is_async)
        assert modelmeter.flush()
    finally:
        modelmeter.uninstrument()
    (record,) = _records(tmp_path / "record-only")
    (second,) = mock.calls
    assert (record.get("response_id"), record.get("request_id")) == (second.response_id, second.request_id)
    assert record["usage_known"] is (second.usage is not None) and record["status"] == "ok"
    assert _same_call_parts(record) == _same_call_parts(expected)


def test_retries_and_fallbacks_are_found_when_the_spool_thread_reads_the_bodies(
    mock: MockProviders, tmp_path: Path
) -> None:
    """In the spool-only setup the app's thread only logs attempts; whether one failed (an error
    inside a 200 is only known from the body) is decided on the spool's thread, yet a hand-written
    retry of it is still the same call, and a call to another model after a failure its fallback."""
    body = {"model": "gpt-4o-mini", "messages": MESSAGES}
    url = mock.base_url("openai") + "/chat/completions"
    modelmeter.instrument(spool=str(tmp_path), endpoints=mock.endpoints)
    try:
        with httpx2.Client() as client:
            for headers in ({"x-mock-fault": "error_after_200"}, {}):
                client.post(url, json=body, headers=headers).read()
            client.post(url, json={**body, "model": "gpt-4o"}, headers={"x-mock-fault": "500"})
            client.post(url, json=body)
        assert modelmeter.flush()
    finally:
        modelmeter.uninstrument()
    first, retry, failed, fallback = sorted(_records(tmp_path), key=lambda r: r["start_ns"])
    assert [r["http_status"] for r in (first, retry, failed, fallback)] == [200, 200, 500, 200]
    assert (first["status"], first["error_type"], retry["status"]) == ("error", "server_error", "ok")
    assert retry["call_id"] == first["call_id"] and (first["attempt"], retry["attempt"]) == (0, 1)
    assert failed["call_id"] != retry["call_id"] and "fallback_from" not in failed
    assert fallback["fallback_from"] == "openai/gpt-4o" and fallback["attempt"] == 0


def test_a_request_sent_again_with_changed_headers_is_recorded_as_each_went_out(
    mock: MockProviders, tmp_path: Path
) -> None:
    """The app's thread keeps a copy of the request's headers and reads them later on the spool's:
    an SDK that changes a request's headers and sends the same request again (openai's workload
    identity retry swaps the token) must not have the first attempt described with the second's."""
    url = mock.base_url("openai") + "/chat/completions"
    modelmeter.instrument(spool=str(tmp_path), endpoints=mock.endpoints)
    try:
        with httpx2.Client() as client:
            request = client.build_request("POST", url, json={"model": "gpt-4o-mini", "messages": MESSAGES})
            for key in ("sk-proj-FAKEfirst00000000", "sk-proj-FAKEsecond0000000"):
                request.headers["authorization"] = f"Bearer {key}"
                client.send(request).read()
        assert modelmeter.flush()
    finally:
        modelmeter.uninstrument()
    first, second = sorted(_records(tmp_path), key=lambda r: r["start_ns"])
    assert first["key_fingerprint"] == keys.fingerprint("sk-proj-FAKEfirst00000000")
    assert second["key_fingerprint"] == keys.fingerprint("sk-proj-FAKEsecond0000000")


@pytest.mark.parametrize("prompt_bytes", [100, 40_000], ids=["read-on-the-spool-thread", "read-at-once"])
def test_a_request_is_described_alike_whether_its_body_waits_for_the_spool_or_not(
    mock: MockProviders, tmp_path: Path, prompt_bytes: int
) -> None:
    """Small request bodies are decoded on the spool's thread, large ones as they leave (memory)."""
    messages = [{"role": "user", "content": "x" * prompt_bytes}]
    modelmeter.instrument(spool=str(tmp_path), endpoints=mock.endpoints)
    try:
        client = openai.OpenAI(
            base_url=mock.base_url("openai"), api_key="sk-proj-FAKE0000000000", max_retries=0
        )
        client.chat.completions.create(model="gpt-4o-mini", messages=messages, max_tokens=77)  # type: ignore[arg-type]
        assert modelmeter.flush()
    finally:
        modelmeter.uninstrument()
    (record,) = _records(tmp_path)
    assert (record["name"], record["request_model"], record["streaming"]) == (
        "chat gpt-4o-mini",
        "gpt-4o-mini",
        False,
    )
    assert record["attributes"][sc.GEN_AI_REQUEST_MAX_TOKENS] == 77
    assert len(record["call_id"]) == 16 and record["attempt"] == 0


def test_a_call_waiting_for_the_spool_keeps_few_objects_for_the_garbage_collector(
    mock: MockProviders, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What waits for the spool's thread is what the collector scans in the app's thread: each such
    object makes its collections come sooner and cost more (a full one takes about 100 ms beside an
    SDK). Counted with the spool's thread held off, so every call waits."""
    monkeypatch.setitem(Spool.__init__.__kwdefaults__, "delay_s", 3600.0)  # type: ignore[index]
    client = openai.OpenAI(base_url=mock.base_url("openai"), api_key="sk-proj-FAKE0000000000", max_retries=0)

    def objects_kept_by(calls: int) -> int:
        """Tracked objects that 40 more calls leave behind (the mock keeps a record of each)."""
        gc.collect()
        before = len(gc.get_objects())
        while len(mock.calls) < calls:
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        gc.collect()
        return len(gc.get_objects()) - before

    objects_kept_by(20)  # warm up: caches, pools, imports
    bare = objects_kept_by(60)
    modelmeter.instrument(spool=str(tmp_path), endpoints=mock.endpoints)
    try:
        objects_kept_by(80)
        observed = objects_kept_by(120)
        assert modelmeter.flush() and len(_records(tmp_path)) == 60
    finally:
        modelmeter.uninstrument()
    per_call = (observed - bare) / 40
    assert per_call <= 6, per_call  # the observation, the request, the facts, the body's list


def test_a_stream_abandoned_in_the_spool_only_setup_is_read_on_the_spool_thread(
    mock: MockProviders, tmp_path: Path
) -> None:
    """The collector ends an abandoned stream on the app's thread; the rest of its body is read
    later on the spool's: the record still has the partial usage and says truncated."""
    modelmeter.instrument(spool=str(tmp_path), endpoints=mock.endpoints)
    try:
        abandon_a_stream(mock)
        assert modelmeter.flush()
    finally:
        modelmeter.uninstrument()
    (record,) = _records(tmp_path)
    served = mock.calls[0]
    assert served.usage is not None and record["input_tokens"] == served.usage.input_tokens
    assert (record["truncated"], record["status"], record["streaming"]) == (True, "ok", True)


def test_spool_files_rotate_by_size_and_by_age(tmp_path: Path) -> None:
    writer = SpoolWriter(tmp_path, rotate_bytes=50, rotate_seconds=0.3)
    for i in range(3):
        writer.write([b'{"n":%d,"pad":"%s"}\n' % (i, b"x" * 80)])
    assert len(list(tmp_path.glob("*.ndjson"))) == 2  # the third write opened a file that is still open
    assert len(list(tmp_path.glob("*.ndjson.open"))) == 1
    deadline = time.monotonic() + 5
    while list(tmp_path.glob("*.open")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not list(tmp_path.glob("*.open"))
    names = sorted(p.name for p in tmp_path.glob("*.ndjson"))
    assert len(names) == 3 and all(CLOSED_NAME.match(n) for n in names)
    numbers = sorted(int(n.rsplit("-", 1)[1].split(".")[0]) for n in names)
    assert numbers == list(range(numbers[0], numbers[0] + 3))  # one sequence per process, no reuse


def test_an_unwritable_spool_drops_spans_with_one_warning(
    mock: MockProviders, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    modelmeter.instrument(spool=str(blocker / "spool"), endpoints=mock.endpoints)
    client = openai.OpenAI(base_url=mock.base_url("openai"), api_key="sk-proj-FAKE0000000000", max_retries=0)
    try:
        with caplog.at_level(logging.WARNING, logger="modelmeter"):
            for _ in range(2):
                response = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
                assert response.choices[0].message.content == mock.calls[-1].content
                modelmeter.flush()
    finally:
        modelmeter.uninstrument()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "spool" in r.getMessage()]
    assert len(warnings) == 1


def test_fake_keys_never_reach_spans_or_spool_files(
    mock: MockProviders, tmp_path: Path, fake_keys: dict[str, str]
) -> None:
    recorder = Recorder()
    modelmeter.instrument(
        tracer_provider=recorder.provider, spool=str(tmp_path), endpoints=mock.endpoints, capture_content=True
    )
    try:
        for name in (
            "openai-chat",
            "anthropic-messages",
            "gemini-generate-content",
            "mistral-chat",
            "cohere-chat",
            "groq-chat",
            "vercel-chat",
            "openrouter-chat",
        ):
            asyncio.run(CASES[name].run(mock, fake_keys, True, False))
        modelmeter.flush()
    finally:
        modelmeter.uninstrument()
    spans_text = repr([dict(s.attributes or {}) for s in recorder.spans()])
    spool_text = "".join(p.read_text() for p in tmp_path.glob("*.ndjson"))
    assert len(recorder.spans()) == 8 and spool_text.count("\n") == 8
    assert sc.GEN_AI_INPUT_MESSAGES in spans_text  # content capture was on, and keys still stay out
    for key in fake_keys.values():
        for text in (spans_text, spool_text):
            assert key not in text and key[:-4] not in text and key[4:-4] not in text


@pytest.mark.parametrize("sdk_tracing", [True, False], ids=["anthropic-tracing-on", "anthropic-tracing-off"])
def test_one_anthropic_call_counts_once_whether_or_not_the_sdk_traces(
    mock: MockProviders, tmp_path: Path, sdk_tracing: bool
) -> None:
    recorder = Recorder()
    modelmeter.instrument(tracer_provider=recorder.provider, spool=str(tmp_path), endpoints=mock.endpoints)
    option: Any = {"tracer_provider": recorder.provider} if sdk_tracing else False
    client = anthropic.Anthropic(
        base_url=mock.base_url("anthropic"),
        api_key="sk-ant-api03-FAKE0000",
        max_retries=0,
        open_telemetry=option,
    )
    try:
        client.messages.create(model="claude-haiku-4-5", max_tokens=64, messages=MESSAGES)
        modelmeter.flush()
    finally:
        modelmeter.uninstrument()
    spans = recorder.exporter.get_finished_spans()
    ours = recorder.spans()
    assert len(ours) == 1 and ours[0].attributes is not None
    assert ours[0].attributes[sc.MM_USAGE_KNOWN] is True
    sdk_spans = [
        s
        for s in spans
        if s.instrumentation_scope and s.instrumentation_scope.name == "com.anthropic.sdk.python"
    ]
    if sdk_tracing:
        assert len(sdk_spans) == 1 and ours[0].parent is not None
        assert ours[0].parent.span_id == sdk_spans[0].context.span_id
    else:
        assert sdk_spans == [] and len(spans) == 1
    assert len(_records(tmp_path)) == 1  # the spool holds our span only


def test_the_otel_httpx_span_becomes_our_child(mock: MockProviders) -> None:
    recorder = Recorder()
    instrumentor = HTTPX2ClientInstrumentor()
    instrumentor.instrument(tracer_provider=recorder.provider)
    modelmeter.instrument(tracer_provider=recorder.provider, spool=False, endpoints=mock.endpoints)
    try:
        client = openai.OpenAI(
            base_url=mock.base_url("openai"), api_key="sk-proj-FAKE0000000000", max_retries=0
        )
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    finally:
        modelmeter.uninstrument()
        instrumentor.uninstrument()
    (ours,) = recorder.spans()
    http_spans = [s for s in recorder.exporter.get_finished_spans() if s is not ours]
    assert len(http_spans) == 1 and http_spans[0].parent is not None
    assert http_spans[0].parent.span_id == ours.context.span_id


def test_instrument_is_idempotent_and_uninstrument_restores_both_libraries(mock: MockProviders) -> None:
    before = _current_methods()
    recorder = Recorder()
    client = httpx2.Client()  # made before instrument(): still observed
    for _ in range(2):
        modelmeter.instrument(tracer_provider=recorder.provider, spool=False, endpoints=mock.endpoints)
    client.post(
        mock.base_url("openai") + "/chat/completions", json={"model": "gpt-4o-mini", "messages": MESSAGES}
    )
    client.get(mock.base_url("openai") + "/models")  # not an AI call: no span
    assert len(recorder.spans()) == 1
    modelmeter.uninstrument()
    modelmeter.uninstrument()
    assert _current_methods() == before
    client.post(
        mock.base_url("openai") + "/chat/completions", json={"model": "gpt-4o-mini", "messages": MESSAGES}
    )
    assert len(recorder.spans()) == 1
    client.close()


def _current_methods() -> dict[tuple[str, str, str], Any]:
    return {
        (lib.__name__, cls.__name__, name): cls.__dict__[name]
        for lib in (httpx, httpx2)
        for cls, name in (
            (lib.HTTPTransport, "handle_request"),
            (lib.AsyncHTTPTransport, "handle_async_request"),
        )
    }


APP_WITH_TRACING = """
import os, sys
import anthropic
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
import modelmeter

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
modelmeter.instrument(spool=sys.argv[1], endpoints=os.environ["ENDPOINTS"])
client = anthropic.Anthropic(base_url=os.environ["ANTHROPIC_BASE"], api_key="sk-ant-api03-FAKE0000")
client.messages.create(model="claude-haiku-4-5", max_tokens=32, messages=[{"role": "user", "content": "hi"}])
modelmeter.flush()
print(sorted(s.instrumentation_scope.name for s in exporter.get_finished_spans()))
"""


@pytest.mark.parametrize("sdk_env", ["true", "false"], ids=["anthropic-env-on", "anthropic-env-off"])
def test_an_app_tracer_provider_gets_our_spans_and_keeps_its_own(
    mock: MockProviders, tmp_path: Path, sdk_env: str
) -> None:
    env = dict(
        os.environ,
        ENDPOINTS=mock.endpoints,
        ANTHROPIC_BASE=mock.base_url("anthropic"),
        ANTHROPIC_OPEN_TELEMETRY=sdk_env,
    )
    result = subprocess.run(
        [sys.executable, "-c", APP_WITH_TRACING, str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    scopes = result.stdout.strip()
    expected = ["com.anthropic.sdk.python", "modelmeter"] if sdk_env == "true" else ["modelmeter"]
    assert scopes == repr(expected)
    assert [r["source"] for r in _records(tmp_path)] == ["modelmeter"]


def test_instrumenting_again_after_uninstrument_still_writes_the_spool(
    mock: MockProviders, tmp_path: Path
) -> None:
    client = openai.OpenAI(base_url=mock.base_url("openai"), api_key="sk-proj-FAKE0000000000", max_retries=0)
    for _ in range(2):
        modelmeter.instrument(spool=str(tmp_path), endpoints=mock.endpoints)
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        modelmeter.uninstrument()
    assert [r["response_id"] for r in _records(tmp_path)] == [c.response_id for c in mock.calls]


def test_with_only_the_spool_listening_our_span_joins_the_apps_trace_and_parents_the_httpx_span(
    mock: MockProviders, tmp_path: Path
) -> None:
    app = Recorder()  # the app's own tracing, on a provider that is not the global one
    instrumentor = HTTPX2ClientInstrumentor()
    instrumentor.instrument(tracer_provider=app.provider)
    modelmeter.instrument(spool=str(tmp_path), endpoints=mock.endpoints)
    client = openai.OpenAI(base_url=mock.base_url("openai"), api_key="sk-proj-FAKE0000000000", max_retries=0)
    try:
        with app.provider.get_tracer("app").start_as_current_span("handle-request") as outer:
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        modelmeter.flush()
    finally:
        modelmeter.uninstrument()
        instrumentor.uninstrument()
    (record,) = _records(tmp_path)
    outer_context = outer.get_span_context()
    assert record["trace_id"] == f"{outer_context.trace_id:032x}"
    assert record["parent_span_id"] == f"{outer_context.span_id:016x}"
    (http_span,) = [s for s in app.exporter.get_finished_spans() if s.name != "handle-request"]
    assert http_span.parent is not None and f"{http_span.parent.span_id:016x}" == record["span_id"]
    assert record["input_tokens"] == mock.calls[0].usage.input_tokens  # type: ignore[union-attr]


def test_under_an_unsampled_parent_with_no_app_provider_the_call_is_recorded_in_its_trace(
    mock: MockProviders, tmp_path: Path
) -> None:
    unsampled = trace.NonRecordingSpan(
        trace.SpanContext(0x1234, 0x5678, is_remote=True, trace_flags=trace.TraceFlags(0))
    )
    modelmeter.instrument(spool=str(tmp_path), endpoints=mock.endpoints)
    client = openai.OpenAI(base_url=mock.base_url("openai"), api_key="sk-proj-FAKE0000000000", max_retries=0)
    try:
        with trace.use_span(unsampled):
            response = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        modelmeter.flush()
    finally:
        modelmeter.uninstrument()
    assert response.choices[0].message.content == mock.calls[0].content
    (record,) = _records(tmp_path)
    assert (record["trace_id"], record["parent_span_id"]) == (f"{0x1234:032x}", f"{0x5678:016x}")
    assert record["response_id"] == mock.calls[0].response_id


def test_calls_from_many_threads_each_reach_the_spool_once_and_whole(
    mock: MockProviders, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """App threads end calls while the spool's thread describes and writes earlier ones (it writes
    as soon as it wakes here, so the two overlap all the time)."""
    monkeypatch.setitem(Spool.__init__.__kwdefaults__, "delay_s", 0.0)  # type: ignore[index]
    threads, calls = 8, 25
    spool = tmp_path / "spool"
    modelmeter.instrument(spool=str(spool), endpoints=mock.endpoints)
    try:
        client = openai.OpenAI(
            base_url=mock.base_url("openai"), api_key="sk-proj-FAKE0000000000", max_retries=0
        )

        def work(worker: int) -> None:
            with modelmeter.tag(workflow=f"w{worker}"):
                for _ in range(calls):
                    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(work, range(threads)))
        assert modelmeter.flush()
    finally:
        modelmeter.uninstrument()
    records = _records(spool)
    served = {call.response_id: call for call in mock.calls}
    assert len(records) == len(served) == threads * calls
    for record in records:
        usage = served[record["response_id"]].usage
        assert usage is not None and record["status"] == "ok" and record["cost_source"] == "genai-prices"
        assert (record["input_tokens"], record["output_tokens"]) == (usage.input_tokens, usage.output_tokens)
    assert Counter(r["workflow"] for r in records) == {f"w{i}": calls for i in range(threads)}
    assert len({r["call_id"] for r in records}) == len(records)


class _Ended:
    """An ended call as the spool sees one (`call.CallObservation.record_values`)."""

    def __init__(self, n: int, attributes: dict[str, Any] | None = None) -> None:
        self.n = n
        self.attributes = attributes or {sc.MM_STATUS: "ok"}

    def record_values(self) -> tuple[str, int, int, None, int, int, dict[str, Any]]:
        return ("chat m", 1, self.n, None, self.n, self.n + 1, self.attributes)


def test_past_its_bound_the_spool_queue_drops_calls_counts_them_and_warns_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = Spool(SpoolWriter(tmp_path), "svc", None, max_queued=2, delay_s=60.0)
    with caplog.at_level(logging.WARNING, logger="modelmeter"):
        for n in range(1, 5):
            spool.submit(_Ended(n))
        spool.submit(_Ended(5, {"bad": object()}))  # queue still full: dropped before serialising
    spool.shutdown()
    lines = _records(tmp_path)
    records = [r for r in lines if "kind" not in r]
    assert [r["span_id"] for r in records] == [f"{1:016x}", f"{2:016x}"] and records[0]["service"] == "svc"
    (dropped,) = [r for r in lines if r.get("kind") == "dropped"]
    assert (dropped["reason"], dropped["count"], dropped["pid"]) == ("queue_full", 3, os.getpid())
    assert 0 < dropped["from_ns"] <= dropped["to_ns"] <= time.time_ns() and dropped["host"]
    assert len([r for r in caplog.records if "queue is full" in r.getMessage()]) == 1


def test_a_record_that_cannot_be_serialised_is_counted_and_the_rest_are_written(tmp_path: Path) -> None:
    spool = Spool(SpoolWriter(tmp_path), None, None, delay_s=60.0)
    spool.submit(_Ended(1, {"bad": object()}))
    spool.submit(_Ended(2))
    spool.shutdown()
    lines = _records(tmp_path)
    assert [r.get("span_id") for r in lines if "kind" not in r] == [f"{2:016x}"]
    assert [(r["reason"], r["count"]) for r in lines if "kind" in r] == [("unserialisable", 1)]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_writes_its_own_spool_file_and_the_parent_keeps_its_own(
    mock: MockProviders, tmp_path: Path
) -> None:
    def one_call() -> None:
        client = openai.OpenAI(
            base_url=mock.base_url("openai"), api_key="sk-proj-FAKE0000000000", max_retries=0
        )
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    modelmeter.instrument(spool=str(tmp_path), endpoints=mock.endpoints)
    try:
        one_call()
        time.sleep(1.3)  # the spool thread has written: the parent holds an open file
        pid = os.fork()
        if pid == 0:  # the child: one call, flushed to a file of its own
            try:
                one_call()
                modelmeter.flush()
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        one_call()
        modelmeter.flush()
    finally:
        modelmeter.uninstrument()
    names = sorted(p.name for p in tmp_path.iterdir())
    pids = {int(name.split("-")[3]) for name in names}
    assert pids == {os.getpid(), pid} and all(CLOSED_NAME.match(n) for n in names), names
    assert sorted(r["response_id"] for r in _records(tmp_path)) == sorted(c.response_id for c in mock.calls)
