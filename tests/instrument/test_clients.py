"""Every client: calls through transports that are not httpx's or httpx2's own are observed at the
client seam, and a call that two seams could see is counted once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import anthropic
import httpx2
import openai
import orjson
import pytest
from google import genai
from google.genai import types as genai_types
from support.ingest import rows, run_cli
from support.recorder import Recorder

import modelmeter
from modelmeter import semconv as sc
from modelmeter.mock import MockProviders

MESSAGES: Any = [{"role": "user", "content": "Summarise the weekly cost report in one line."}]


def _records(directory: Path) -> list[dict[str, Any]]:
    return [
        orjson.loads(line)
        for path in sorted(directory.glob("*.ndjson"))
        for line in path.read_bytes().splitlines()
    ]


async def test_the_sdks_aiohttp_clients_are_observed_each_call_once(
    mock: MockProviders, tmp_path: Path
) -> None:
    spool, db = tmp_path / "spool", tmp_path / "db.duckdb"
    modelmeter.instrument(spool=str(spool), endpoints=mock.endpoints)
    try:
        async with openai.AsyncOpenAI(
            base_url=mock.base_url("openai"),
            api_key="sk-proj-FAKE0000000000",
            max_retries=0,
            http_client=openai.DefaultAioHttpClient(),
        ) as oai:
            await oai.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
            stream = await oai.chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
            )
            assert [chunk async for chunk in stream]
        async with anthropic.AsyncAnthropic(
            base_url=mock.base_url("anthropic"),
            api_key="sk-ant-api03-FAKE0000",
            max_retries=0,
            http_client=anthropic.DefaultAioHttpClient(),
        ) as ant:
            await ant.messages.create(model="claude-haiku-4-5", max_tokens=64, messages=MESSAGES)
            async with ant.messages.stream(
                model="claude-haiku-4-5", max_tokens=64, messages=MESSAGES
            ) as events:
                await events.get_final_message()
        assert modelmeter.flush()
    finally:
        modelmeter.uninstrument()
    result = run_cli("ingest", str(spool), "--db", str(db))
    assert result.returncode == 0, result.stderr
    calls = rows(
        db, "SELECT response_id, streaming, usage_known, input_tokens, sdk FROM calls ORDER BY start_time"
    )
    assert [c[0] for c in calls] == [c.response_id for c in mock.calls] and len(calls) == 4
    assert [c[1] for c in calls] == [False, True, False, True]
    for (_, _, usage_known, input_tokens, sdk), served in zip(calls, mock.calls, strict=True):
        assert served.usage is not None and usage_known and input_tokens == served.usage.input_tokens
        assert sdk in ("openai", "anthropic")


async def test_google_genai_async_through_aiohttp_is_observed_each_call_once(
    mock: MockProviders, tmp_path: Path
) -> None:
    """google-genai's async client calls aiohttp itself (no httpx beneath): observed at the session."""
    spool, db = tmp_path / "spool", tmp_path / "db.duckdb"
    modelmeter.instrument(spool=str(spool), endpoints=mock.endpoints)
    try:
        client = genai.Client(
            api_key="AIzaFAKE00000000000000000000000000000",
            http_options=genai_types.HttpOptions(base_url=mock.base_url("gemini")),
        )
        assert client._api_client._use_aiohttp()  # the path under test, not httpx
        models = client.aio.models
        answer = await models.generate_content(model="gemini-2.5-flash", contents=MESSAGES[0]["content"])
        chunks = [
            chunk
            async for chunk in await models.generate_content_stream(
                model="gemini-2.5-flash", contents=MESSAGES[0]["content"]
            )
        ]
        await client.aio.aclose()
        assert modelmeter.flush()
    finally:
        modelmeter.uninstrument()
    assert aiohttp.ClientSession._request.__module__.startswith("aiohttp")  # put back as it was
    assert answer.text and "".join(c.text or "" for c in chunks)
    result = run_cli("ingest", str(spool), "--db", str(db))
    assert result.returncode == 0, result.stderr
    calls = rows(
        db,
        "SELECT response_id, streaming, status, http_status, usage_known, input_tokens, output_tokens,"
        " request_model, duration_ms FROM calls ORDER BY start_time",
    )
    assert len(calls) == 2 and [c[0] for c in calls] == [c.response_id for c in mock.calls]
    assert [c[1] for c in calls] == [False, True]
    for (_, _, status, http, known, inputs, outputs, model, duration), served in zip(
        calls, mock.calls, strict=True
    ):
        assert (status, http, known, model) == ("ok", 200, True, "gemini-2.5-flash")
        assert served.usage is not None and inputs == served.usage.input_tokens
        assert outputs == served.usage.output_tokens and duration > 0


def _chat_json(request: httpx2.Request) -> httpx2.Response:
    body = orjson.loads(request.content)
    answer = {
        "id": "chatcmpl-canned",
        "object": "chat.completion",
        "model": body["model"],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 2, "total_tokens": 13},
    }
    return httpx2.Response(200, json=answer)


class _Delegating(httpx2.BaseTransport):
    """A company's transport: adds a header, then sends through httpx2's own."""

    def __init__(self) -> None:
        self.inner = httpx2.HTTPTransport()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        request.headers["x-company"] = "1"
        return self.inner.handle_request(request)


class _Subclass(httpx2.HTTPTransport):
    """A subclass that overrides the method the transport seam patches, calling it."""

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        return super().handle_request(request)


@pytest.mark.parametrize("transport", ["mock-transport", "delegating", "subclass", "httpx2's own"])
def test_a_call_through_any_transport_is_recorded_once(
    mock: MockProviders, tmp_path: Path, transport: str
) -> None:
    made: Any = {
        "mock-transport": lambda: httpx2.MockTransport(_chat_json),
        "delegating": _Delegating,
        "subclass": _Subclass,
        "httpx2's own": httpx2.HTTPTransport,
    }[transport]()
    app = Recorder()  # the app's provider as well: one span, as one record
    modelmeter.instrument(tracer_provider=app.provider, spool=str(tmp_path), endpoints=mock.endpoints)
    try:
        with openai.OpenAI(
            base_url=mock.base_url("openai"),
            api_key="sk-proj-FAKE0000000000",
            max_retries=0,
            http_client=httpx2.Client(transport=made),
        ) as client:
            response = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        assert modelmeter.flush()
    finally:
        modelmeter.uninstrument()
    (record,) = _records(tmp_path)
    (span,) = app.spans()
    assert record["response_id"] == response.id and record["status"] == "ok"
    assert response.usage is not None and record["input_tokens"] == response.usage.prompt_tokens
    assert f"{span.context.span_id:016x}" == record["span_id"]
    assert (span.attributes or {})[sc.GEN_AI_RESPONSE_ID] == response.id


_LATE_IMPORT = """
import sys
import modelmeter
modelmeter.instrument(spool=False)
assert "aiohttp" not in sys.modules  # instrument() does not load it for an app that may never
import aiohttp
from google import genai  # imports aiohttp again: nothing changes
patched = hasattr(aiohttp.ClientSession._request, "__modelmeter_original__")
assert aiohttp.__spec__.loader is aiohttp.__loader__ and "modelmeter" not in repr(aiohttp.__loader__)
modelmeter.uninstrument()
restored = not hasattr(aiohttp.ClientSession._request, "__modelmeter_original__")
print(patched, restored, len(sys.meta_path))
"""


def test_aiohttp_imported_after_instrument_is_patched_then_and_restored() -> None:
    baseline = subprocess.run(
        [sys.executable, "-c", "import sys, aiohttp; print(len(sys.meta_path))"],
        capture_output=True,
        text=True,
        check=True,
    )
    done = subprocess.run([sys.executable, "-c", _LATE_IMPORT], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True", baseline.stdout.strip()]


async def test_plain_aiohttp_gzip_and_a_stream_released_early_are_each_recorded_once(
    mock: MockProviders, tmp_path: Path
) -> None:
    """aiohttp undoes the gzip before the tee sees the bytes; a stream the app releases after its
    first line ends there; the app reads exactly what the server sent."""
    modelmeter.instrument(spool=str(tmp_path), endpoints=mock.endpoints)
    url = mock.base_url("openai") + "/chat/completions"
    headers = {"authorization": "Bearer sk-proj-FAKE0000000000", "x-mock-gzip": "true"}
    ask: Any = {"model": "gpt-4o-mini", "messages": MESSAGES}
    try:
        async with aiohttp.ClientSession(headers=headers) as session:
            async with session.post(url, json=ask) as response:
                answer = await response.json()
            streamed = {**ask, "stream": True, "stream_options": {"include_usage": True}}
            async with session.post(url, json=streamed) as response:
                lines = [line async for line in response.content]
            async with session.post(
                url, data=orjson.dumps(streamed), headers={"x-mock-chunks": "50"}
            ) as response:
                first = await response.content.readline()
        assert modelmeter.flush()
    finally:
        modelmeter.uninstrument()
    assert first.startswith(b"data: ") and lines[-2:] == [b"data: [DONE]\n", b"\n"]
    records = sorted(_records(tmp_path), key=lambda r: r["start_ns"])
    assert [r["response_id"] for r in records[:2]] == [answer["id"], mock.calls[1].response_id]
    assert len(records) == 3 and [r["streaming"] for r in records] == [False, True, True]
    for record, served in zip(records[:2], mock.calls, strict=False):
        assert served.usage is not None and record["input_tokens"] == served.usage.input_tokens
        assert record["status"] == "ok" and record["request_model"] == "gpt-4o-mini"
    assert records[2]["usage_known"] is False and records[2]["http_status"] == 200
