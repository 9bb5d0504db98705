"""The shortcuts into other libraries' private parts (`instrument/shortcuts.py`) agree with their
public APIs: if a library changes what it keeps, these fail before the shim misreads anything."""

from __future__ import annotations

import contextlib

import aiohttp
import httpx
import httpx2
import yarl
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import SpanLimits, TracerProvider

from modelmeter.instrument import shortcuts
from modelmeter.instrument.request import lowered


def test_headers_are_read_as_triples_from_the_private_list_or_else_from_raw() -> None:
    """httpx and httpx2 keep (name, lower-cased name, value) triples, read without a Python call; a
    headers class that keeps anything else is read through its public `raw` pairs."""

    class RawOnly:
        def __init__(self, headers: dict[str, str]) -> None:
            self.raw = [(k.encode(), v.encode()) for k, v in headers.items()]

    for headers_class in (httpx.Headers, httpx2.Headers, RawOnly):
        items_of = shortcuts.header_items_reader(headers_class)
        triples = tuple(items_of(headers_class({"Content-Type": "text/event-stream", "X-Id": "7"})))
        assert triples == ((b"Content-Type", b"content-type", b"text/event-stream"), (b"X-Id", b"x-id", b"7"))
        assert lowered(triples) == {b"content-type": b"text/event-stream", b"x-id": b"7"}


def test_url_parts_are_the_public_properties() -> None:
    for module in (httpx, httpx2):
        for text in ("https://api.openai.com/v1/chat/completions", "http://127.0.0.1:9001/v1/messages?x=1"):
            url = module.URL(text)
            assert shortcuts.url_parts(url) == (url.scheme, url.host, url.port, url.path)


def test_a_client_sends_one_request_through_the_transport_its_url_selects() -> None:
    mounted = httpx2.MockTransport(lambda request: httpx2.Response(200))
    for module, client in (
        (httpx2, httpx2.Client(mounts={"http://mounted.example": mounted})),
        (httpx, httpx.Client()),
    ):
        with client:
            assert shortcuts.CLIENT_SEND in type(client).__dict__
            assert shortcuts.CLIENT_SEND in module.AsyncClient.__dict__
            default = shortcuts.transport_for(client, module.URL("https://api.openai.com/v1/x"))
            assert isinstance(default, module.HTTPTransport)
    with httpx2.Client(mounts={"http://mounted.example": mounted}) as client:
        assert shortcuts.transport_for(client, httpx2.URL("http://mounted.example/v1")) is mounted


def test_the_context_shortcuts_agree_with_the_opentelemetry_api() -> None:
    """What the shortcuts set the API must read, and a span they make current must be the API's
    current span."""
    span = trace.NonRecordingSpan(trace.SpanContext(7, 9, False, trace.TraceFlags(trace.TraceFlags.SAMPLED)))
    made = shortcuts.with_span(shortcuts.get(), span)
    assert trace.get_current_span(made) is span and shortcuts.parent_of(made) == span.get_span_context()
    assert shortcuts.parent_of(otel_context.Context()) is None
    token = shortcuts.set(made)
    try:
        assert otel_context.get_current() is made and trace.get_current_span() is span
    finally:
        shortcuts.reset(token)
    assert trace.get_current_span() is not span


def test_our_attributes_reach_an_sdk_span_as_through_the_api_and_its_limits_still_apply() -> None:
    attributes = {"gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": 12, "x": "y" * 50}
    unlimited = TracerProvider().get_tracer("t").start_span("s")
    shortcuts.set_own_attributes(unlimited, attributes)
    assert dict(unlimited.attributes or {}) == attributes
    limited_provider = TracerProvider(span_limits=SpanLimits(max_span_attributes=2, max_attribute_length=10))
    limited = limited_provider.get_tracer("t").start_span("s")
    shortcuts.set_own_attributes(limited, attributes)
    kept = dict(limited.attributes or {})
    assert len(kept) == 2 and all(len(v) <= 10 for v in kept.values() if isinstance(v, str))
    assert attributes["x"] == "y" * 50  # ours untouched


def test_a_body_in_memory_is_told_from_one_still_to_be_read() -> None:
    for module in (httpx, httpx2):
        assert shortcuts.body_in_memory(module.Response(200, content=b'{"a":1}')) == b'{"a":1}'
        streamed = module.Response(200, stream=module.ByteStream(b"{}"))
        assert shortcuts.body_in_memory(streamed) is None
        streamed.read()
        assert shortcuts.body_in_memory(streamed) == b"{}"


async def test_every_aiohttp_request_goes_through_the_session_method_the_shim_patches() -> None:
    """`request`, `post` and the rest send through `AIOHTTP_REQUEST`, to the URL `aiohttp_url`
    gives (the session's `base_url` applied)."""
    seen: list[tuple[str, yarl.URL]] = []

    class Stop(Exception):
        pass

    async def record(session: aiohttp.ClientSession, method: str, str_or_url: object, **_: object) -> None:
        seen.append((method, shortcuts.aiohttp_url(session, str_or_url)))
        raise Stop

    original = aiohttp.ClientSession.__dict__[shortcuts.AIOHTTP_REQUEST]
    setattr(aiohttp.ClientSession, shortcuts.AIOHTTP_REQUEST, record)
    try:
        async with aiohttp.ClientSession(base_url="http://127.0.0.1:9/v1beta/") as session:
            for send in (
                lambda: session.post("models/m:generateContent", data=b"{}"),
                lambda: session.request("POST", "http://example.test:8080/v1/chat/completions"),
            ):
                with contextlib.suppress(Stop):
                    await send()
    finally:
        setattr(aiohttp.ClientSession, shortcuts.AIOHTTP_REQUEST, original)
    assert seen == [
        ("POST", yarl.URL("http://127.0.0.1:9/v1beta/models/m:generateContent")),
        ("POST", yarl.URL("http://example.test:8080/v1/chat/completions")),
    ]
