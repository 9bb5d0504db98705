"""What the app receives never changes, and every way a call can go wrong still gives the right span."""

from __future__ import annotations

import gc
import gzip
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pytest
from support.recorder import Recorder
from support.sdk_calls import abandon_a_stream

import modelmeter
from modelmeter import semconv as sc
from modelmeter.instrument import shim
from modelmeter.instrument.providers import openai_chat
from modelmeter.mock import MockProviders

MESSAGES: Any = [{"role": "user", "content": "Summarise the weekly cost report in one line."}]

# --- byte identity against a deterministic server ---------------------------------------------

SSE_BODY = (
    b"".join(
        b'data: {"id":"c1","model":"gpt-4o-mini","choices":[{"delta":{"content":"w%d "}}]}\n\n' % i
        for i in range(50)
    )
    + b'data: {"id":"c1","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":50}}\n\ndata: [DONE]\n\n'
)
JSON_BODY = (
    b'{"id":"c2","model":"gpt-4o-mini","choices":[{"message":{"content":"hi"},"finish_reason":"stop"}],'
    b'"usage":{"prompt_tokens":9,"completion_tokens":1}}'
)


class _FixedHandler(BaseHTTPRequestHandler):
    """Always the same bytes: SSE in chunked pieces or JSON, gzip-encoded when asked."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        stream = self.path.endswith("/stream/chat/completions")
        body = SSE_BODY if stream else JSON_BODY
        zipped = self.headers.get("x-test-gzip") == "1"
        if zipped:
            body = gzip.compress(body, mtime=0)
        self.send_response(200)
        self.send_header("content-type", "text/event-stream" if stream else "application/json")
        if zipped:
            self.send_header("content-encoding", "gzip")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for i in range(0, len(body), 97):
            piece = body[i : i + 97]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def fixed_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FixedHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _received(lib: Any, url: str, gzipped: bool) -> tuple[bytes, bytes]:
    """(raw bytes, decoded bytes) as the app reads them."""
    headers = {"x-test-gzip": "1" if gzipped else "0", "authorization": "Bearer sk-proj-FAKE0000"}
    with lib.Client() as client:
        with client.stream(
            "POST", url, json={"model": "gpt-4o-mini", "stream": True}, headers=headers
        ) as response:
            raw = b"".join(response.iter_raw())
        decoded = client.post(url, json={"model": "gpt-4o-mini"}, headers=headers).content
    return raw, decoded


@pytest.mark.parametrize("lib", [httpx, httpx2], ids=["httpx", "httpx2"])
@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/stream/chat/completions"], ids=["json", "sse"])
def test_the_app_receives_identical_bytes_with_and_without_the_shim(
    recorder: Recorder,
    fixed_server: str,
    lib: Any,
    gzipped: bool,
    path: str,
) -> None:
    instrumented = _received(lib, fixed_server + path, gzipped)
    modelmeter.uninstrument()
    bare = _received(lib, fixed_server + path, gzipped)
    assert instrumented == bare
    assert bare[1] == (SSE_BODY if "stream" in path else JSON_BODY)
    spans = [dict(s.attributes or {}) for s in recorder.spans()]
    assert len(spans) == 2
    assert all(s[sc.MM_USAGE_KNOWN] and s[sc.MM_INPUT_TOKENS] == 9 for s in spans)


# --- faults against the mock ------------------------------------------------------------------


def _outcome(call: Callable[[], Any]) -> tuple[str, int | None]:
    """What the app saw: the exception class and its HTTP status, or "ok"."""
    try:
        result = call()
        if isinstance(result, (openai.Stream, anthropic.Stream)):
            for _ in result:
                pass
    except Exception as exc:
        return type(exc).__name__, getattr(exc, "status_code", None)
    return "ok", None


def _openai(mock: MockProviders, retries: int = 0) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=mock.base_url("openai"), api_key="sk-proj-FAKE0000000000", max_retries=retries
    )


def _anthropic(mock: MockProviders) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=mock.base_url("anthropic"), api_key="sk-ant-api03-FAKE0000", max_retries=0
    )


def _chat(mock: MockProviders, fault: str, stream: bool) -> Callable[[], Any]:
    return lambda: _openai(mock).chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=stream, extra_headers={"x-mock-fault": fault}
    )


def _messages(mock: MockProviders, fault: str, stream: bool) -> Callable[[], Any]:
    return lambda: _anthropic(mock).messages.create(
        model="claude-haiku-4-5",
        max_tokens=64,
        messages=MESSAGES,
        stream=stream,
        extra_headers={"x-mock-fault": fault},
    )


FAULT_CASES = [
    # (id, request, fault, streamed, http status on the span, error.type, truncated)
    ("openai-429", _chat, "429", False, 429, "429", False),
    ("openai-500-stream", _chat, "500", True, 500, "500", False),
    ("anthropic-529", _messages, "529", False, 529, "529", False),
    ("openai-error-in-200", _chat, "error_after_200", False, 200, "server_error", False),
    ("openai-error-event-in-stream", _chat, "error_after_200", True, 200, "server_error", True),
    ("anthropic-error-event-in-stream", _messages, "error_after_200", True, 200, "overloaded_error", False),
    ("openai-cut-stream", _chat, "cut", True, 200, None, True),
    ("anthropic-cut-stream", _messages, "cut", True, 200, None, True),
    ("openai-cut-json", _chat, "cut", False, 200, "RemoteProtocolError", True),
    ("openai-reset", _chat, "reset", False, None, "ReadError", False),
]


@pytest.mark.parametrize(
    ("request_of", "fault", "stream", "status", "error_type", "truncated"),
    [pytest.param(*case[1:], id=case[0]) for case in FAULT_CASES],
)
def test_each_failure_gives_the_right_span_and_the_app_the_same_exception(
    mock: MockProviders,
    recorder: Recorder,
    request_of: Callable[[MockProviders, str, bool], Callable[[], Any]],
    fault: str,
    stream: bool,
    status: int | None,
    error_type: str | None,
    truncated: bool,
) -> None:
    seen_instrumented = _outcome(request_of(mock, fault, stream))
    attrs = recorder.only()
    modelmeter.uninstrument()
    assert _outcome(request_of(mock, fault, stream)) == seen_instrumented
    assert attrs.get(sc.HTTP_RESPONSE_STATUS_CODE) == status
    assert attrs.get(sc.ERROR_TYPE) == error_type
    assert attrs[sc.MM_STATUS] == ("error" if error_type else "ok")
    assert attrs[sc.MM_TRUNCATED] is truncated
    assert sc.MM_PARSE_ERROR not in attrs


def test_a_refused_connection_gives_an_error_span_and_the_same_exception(recorder: Recorder) -> None:
    def call() -> Any:
        client = openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="sk-proj-FAKE0000", max_retries=0)
        return client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    seen = _outcome(call)
    attrs = recorder.only()
    modelmeter.uninstrument()
    assert _outcome(call) == seen == ("APIConnectionError", None)
    assert (attrs[sc.ERROR_TYPE], attrs[sc.MM_STATUS], attrs[sc.MM_END]) == (
        "ConnectError",
        "error",
        "failed",
    )


def test_sdk_retries_share_one_call_id_with_counted_attempts(mock: MockProviders, recorder: Recorder) -> None:
    client = _openai(mock, retries=2)
    client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        extra_headers={"x-mock-fail-times": "2", "x-mock-retry-after": "0"},
    )
    spans = [dict(s.attributes or {}) for s in recorder.spans()]
    assert [s[sc.MM_ATTEMPT] for s in spans] == [0, 1, 2]
    assert len({s[sc.MM_CALL_ID] for s in spans}) == 1
    assert [s[sc.MM_STATUS] for s in spans] == ["error", "error", "ok"]
    assert [c.retry_count for c in mock.calls] == [0, 1, 2]


def test_a_hand_written_retry_without_sdk_header_is_the_same_call(
    mock: MockProviders,
    recorder: Recorder,
) -> None:
    body = {"model": "gpt-4o-mini", "messages": MESSAGES}
    with httpx2.Client() as client, modelmeter.tag(run="hand-written-retry"):
        for headers in ({"x-mock-fault": "503"}, {}):
            client.post(mock.base_url("openai") + "/chat/completions", json=body, headers=headers)
    first, second = (dict(s.attributes or {}) for s in recorder.spans())
    assert first[sc.MM_CALL_ID] == second[sc.MM_CALL_ID]
    assert (first[sc.MM_ATTEMPT], second[sc.MM_ATTEMPT]) == (0, 1)


def test_a_call_after_a_failed_one_to_another_model_is_marked_as_its_fallback(
    mock: MockProviders,
    recorder: Recorder,
) -> None:
    client = _openai(mock)
    with modelmeter.tag(workflow="fallback-demo"):
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(
                model="gpt-4o", messages=MESSAGES, extra_headers={"x-mock-fault": "500"}
            )
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    failed, fallback = (dict(s.attributes or {}) for s in recorder.spans())
    assert fallback[sc.MM_FALLBACK_FROM] == "openai/gpt-4o"
    assert sc.MM_FALLBACK_FROM not in failed
    assert failed[sc.MM_CALL_ID] != fallback[sc.MM_CALL_ID]
    assert fallback[sc.MM_WORKFLOW] == "fallback-demo"


def test_a_stream_the_app_abandons_still_records_partial_usage_and_truncated(
    mock: MockProviders,
    recorder: Recorder,
) -> None:
    abandon_a_stream(mock)
    attrs = recorder.only()
    # the SDK's stream closes the response when it is collected: "closed" rather than "abandoned"
    assert (attrs[sc.MM_TRUNCATED], attrs[sc.MM_STATUS]) == (True, "ok")
    assert attrs[sc.MM_USAGE_KNOWN] is True and attrs[sc.MM_INPUT_TOKENS] == mock.calls[0].usage.input_tokens  # type: ignore[union-attr]


def test_a_raw_stream_dropped_unread_is_ended_when_collected(mock: MockProviders, recorder: Recorder) -> None:
    client = httpx2.Client()
    body = {"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True}
    response = client.send(
        client.build_request("POST", mock.base_url("openai") + "/chat/completions", json=body), stream=True
    )
    chunks = response.iter_bytes()
    next(chunks)
    assert recorder.spans() == []
    del response, chunks
    gc.collect()
    attrs = recorder.only()
    assert (attrs[sc.MM_TRUNCATED], attrs[sc.MM_END]) == (True, "abandoned")
    client.close()


def test_a_stream_the_app_closes_early_ends_the_span_at_once(mock: MockProviders, recorder: Recorder) -> None:
    stream = _openai(mock).chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, extra_headers={"x-mock-chunks": "20"}
    )
    next(iter(stream))
    stream.close()
    attrs = recorder.only()
    assert (attrs[sc.MM_TRUNCATED], attrs[sc.MM_END]) == (True, "closed")
    assert attrs[sc.GEN_AI_RESPONSE_ID] == mock.calls[0].response_id


def test_an_exception_inside_our_parser_never_reaches_the_app(
    mock: MockProviders,
    recorder: Recorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*_args: Any) -> bool:
        raise RuntimeError("injected parser bug")

    monkeypatch.setattr(openai_chat.OpenAIChat, "read_event", broken)
    stream = _openai(mock).chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == mock.calls[0].content
    attrs = recorder.only()
    assert attrs[sc.MM_PARSE_ERROR] == "RuntimeError: injected parser bug"
    assert attrs[sc.MM_USAGE_KNOWN] is False and attrs[sc.MM_STATUS] == "ok"


def test_a_failure_while_classifying_lets_the_request_through_unobserved(
    mock: MockProviders,
    recorder: Recorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(_path: str) -> None:
        raise RuntimeError("injected classifier bug")

    monkeypatch.setattr(shim, "family_for", broken)
    response = _openai(mock).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert response.choices[0].message.content == mock.calls[0].content
    assert recorder.spans() == []


def test_a_long_stream_read_in_skim_mode_keeps_exact_usage(mock: MockProviders, recorder: Recorder) -> None:
    stream = _openai(mock).chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
        extra_headers={"x-mock-chunks": "1500"},
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    (served,) = mock.calls
    assert text == served.content and served.usage is not None
    attrs = recorder.only()
    assert (attrs[sc.MM_INPUT_TOKENS], attrs[sc.MM_OUTPUT_TOKENS]) == (
        served.usage.input_tokens,
        served.usage.output_tokens,
    )
    assert attrs[sc.MM_FINISH_REASON] == served.finish_reason and attrs[sc.MM_TRUNCATED] is False
    assert 0 < attrs[sc.MM_TTFT_MS] < attrs[sc.MM_DURATION_MS]
