"""The shim's pure parts: SSE framing, decoding, classifiers, naming, key fingerprints, SDK ids, tags."""

from __future__ import annotations

import asyncio
import base64
import contextvars
import gzip
import hashlib
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor

import brotli
import httpx
import httpx2
import orjson
import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.httpx import HTTPX2ClientInstrumentor

import modelmeter
from modelmeter import semconv as sc
from modelmeter.instrument import correlation, current, shim, streams, tags
from modelmeter.instrument.keys import credential_of, fingerprint
from modelmeter.instrument.naming import canonical
from modelmeter.instrument.providers import FAMILIES, family_for
from modelmeter.instrument.providers.base import Facts
from modelmeter.instrument.request import header_items_reader, lowered
from modelmeter.instrument.routes import gateway_from_headers, kind_of, parse_endpoints
from modelmeter.instrument.sdk import sdk_of
from modelmeter.instrument.streams import SSEFramer, decoder_for

# --- SSE framing ------------------------------------------------------------------------------


def frame(chunks: list[bytes], *, eof: bool = False) -> list[tuple[str | None, bytes]]:
    events: list[tuple[str | None, bytes]] = []
    framer = SSEFramer(lambda event, data: events.append((event, data)))
    for chunk in chunks:
        framer.feed(chunk)
    if eof:
        framer.flush()
    return events


STREAM = (
    b": OPENROUTER PROCESSING\n\n"
    b'data: {"a":1}\n\n'
    b'event: message_delta\ndata: {"b":2}\n\n'
    b"data: line one\ndata: line two\n\n"
    b"event: ping\n\n"
    b"data: [DONE]\n\n"
)
EXPECTED = [
    (None, b'{"a":1}'),
    ("message_delta", b'{"b":2}'),
    (None, b"line one\nline two"),
    (None, b"[DONE]"),
]


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"], ids=["lf", "crlf", "cr"])
def test_sse_framer_reads_every_line_ending_comments_named_and_multiline_events(eol: bytes) -> None:
    assert frame([STREAM.replace(b"\n", eol)]) == EXPECTED


@pytest.mark.parametrize("eol", [b"\n", b"\r\n"], ids=["lf", "crlf"])
def test_sse_framer_gives_the_same_events_whatever_the_chunk_boundaries(eol: bytes) -> None:
    stream = STREAM.replace(b"\n", eol)
    for size in (1, 2, 3, 7):
        assert frame([stream[i : i + size] for i in range(0, len(stream), size)]) == EXPECTED


def test_sse_framer_keeps_a_last_event_without_blank_line_only_at_eof() -> None:
    assert frame([b'data: {"x":1}\n\ndata: {"y":2}']) == [(None, b'{"x":1}')]
    assert frame([b'data: {"x":1}\n\ndata: {"y":2}'], eof=True) == [(None, b'{"x":1}'), (None, b'{"y":2}')]


def test_sse_framer_skips_an_oversize_event_and_recovers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streams, "MAX_EVENT_BYTES", 64)
    assert frame([b"data: " + b"x" * 100, b"x" * 100 + b"\n\n", b"data: ok\n\n"]) == [(None, b"ok")]


# --- content decoding -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, as some servers send it
        ("br", brotli.compress),
    ],
    ids=["gzip", "deflate-zlib", "deflate-raw", "br"],
)
def test_decoder_undoes_each_content_encoding_fed_in_small_pieces(encoding: str, encode: object) -> None:
    body = b'{"usage": {"prompt_tokens": 3}}' * 50
    encoded = encode(body)  # type: ignore[operator]
    decode = decoder_for(encoding)
    assert decode is not None
    assert b"".join(decode(encoded[i : i + 5]) for i in range(0, len(encoded), 5)) == body


def test_decoder_refuses_an_unknown_encoding_and_passes_identity() -> None:
    assert decoder_for(None) is None and decoder_for("identity") is None
    with pytest.raises(ValueError):
        decoder_for("zstd")


# --- classification ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "family"),
    [
        ("/v1/chat/completions", "openai.chat"),
        ("/openai/deployments/gpt4o/chat/completions", "openai.chat"),
        ("/v1/responses", "openai.responses"),
        ("/v1/embeddings", "openai.embeddings"),
        ("/v1/images/generations", "openai.images"),
        ("/v1/messages", "anthropic.messages"),
        ("/v1beta/models/gemini-2.5-flash:streamGenerateContent", "gemini"),
        ("/v1/fim/completions", "mistral.chat"),
        ("/v2/chat", "cohere.v2"),
        ("/v1/models", None),
        ("/upload", None),
    ],
)
def test_request_paths_map_to_their_wire_family(path: str, family: str | None) -> None:
    found = family_for(path)
    assert (found.NAME if found else None) == family


def test_gemini_model_comes_from_the_path() -> None:
    gemini = family_for("/v1beta/models/gemini-2.5-pro:generateContent")
    assert gemini is not None
    assert gemini.request_model("/v1beta/models/gemini-2.5-pro:generateContent", None) == "gemini-2.5-pro"
    path = (
        "/v1beta1/projects/p/locations/global/publishers/google/models/gemini-2.5-flash:streamGenerateContent"
    )
    assert gemini.request_model(path, None) == "gemini-2.5-flash" and gemini.streaming(path, None)


def test_an_azure_deployment_names_the_model_when_the_body_does_not() -> None:
    chat = family_for("/openai/deployments/gpt4o-prod/chat/completions")
    assert chat is not None
    assert (
        chat.request_model("/openai/deployments/gpt4o-prod/chat/completions", {"messages": []})
        == "gpt4o-prod"
    )
    assert (
        chat.request_model("/openai/deployments/gpt4o-prod/chat/completions", {"model": "gpt-4o"}) == "gpt-4o"
    )


def test_hosts_configured_endpoints_and_headers_decide_the_route() -> None:
    endpoints = parse_endpoints("http://127.0.0.1:9001=vercel, https://llm.corp.example/proxy=litellm,bad,=x")
    assert kind_of("http", "127.0.0.1", 9001, "/v1/chat/completions", endpoints) == "vercel"
    assert kind_of("http", "127.0.0.1", 9002, "/v1/chat/completions", endpoints) is None
    assert kind_of("https", "llm.corp.example", None, "/proxy/v1/chat/completions", endpoints) == "litellm"
    assert kind_of("https", "llm.corp.example", None, "/other", endpoints) is None
    assert kind_of("https", "ai-gateway.vercel.sh", None, "/v1/chat/completions", ()) == "vercel"
    assert kind_of("https", "openrouter.ai", None, "/api/v1/chat/completions", ()) == "openrouter"
    assert kind_of("https", "myres.openai.azure.com", None, "/openai/v1/chat/completions", ()) == "azure"
    assert kind_of("https", "oai.helicone.ai", None, "/v1/chat/completions", ()) == "helicone"
    assert kind_of("https", "api.anthropic.com", None, "/v1/messages", ()) == "anthropic"
    assert gateway_from_headers({b"x-litellm-response-cost": b"0.1"}) == "litellm"
    assert gateway_from_headers({b"cf-aig-log-id": b"1"}) == "cloudflare"
    assert gateway_from_headers({b"x-request-id": b"1"}) is None


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("claude-sonnet-4-5-20250929", "anthropic/claude-sonnet-4.5"),
        ("anthropic/claude-sonnet-4.5", "anthropic/claude-sonnet-4.5"),
        ("claude-3-5-haiku-latest", "anthropic/claude-3.5-haiku"),
        ("claude-sonnet-4-20250514", "anthropic/claude-sonnet-4"),
        ("claude-sonnet-4@20250514", "anthropic/claude-sonnet-4"),
        ("gpt-4o-mini-2024-07-18", "openai/gpt-4o-mini"),
        ("openai/gpt-4o-mini", "openai/gpt-4o-mini"),
        ("models/gemini-2.5-flash", "google/gemini-2.5-flash"),
        ("meta-llama/llama-3.3-70b-instruct", "meta/llama-3.3-70b-instruct"),
        ("llama-3.3-70b-versatile", "meta/llama-3.3-70b-versatile"),
    ],
)
def test_canonical_names_meet_across_direct_and_gateway_spellings(model: str, expected: str) -> None:
    assert canonical(model, None)[1] == expected


def test_an_unknown_model_takes_the_serving_vendor() -> None:
    assert canonical("my-finetune", "mistral") == ("mistral", "mistral/my-finetune")
    assert canonical("my-finetune", None) == (None, "my-finetune")


# --- keys -------------------------------------------------------------------------------------


def test_fingerprint_is_sha256_prefix_and_last_four_never_the_key() -> None:
    key = "sk-proj-FAKEabcdefghijklmnopqrstuvwxyz0123WXYZ"
    assert fingerprint(key) == hashlib.sha256(key.encode()).hexdigest()[:12] + ":WXYZ"
    credential = credential_of({b"authorization": f"Bearer {key}".encode()}, None, "openai")
    assert credential is not None and credential.kind == "openai-project-key"
    assert "FAKEabcdefgh" not in repr(credential)


@pytest.mark.parametrize(
    ("headers", "route", "kind"),
    [
        ({b"x-api-key": b"sk-ant-api03-FAKE0000"}, "anthropic", "anthropic-key"),
        ({b"authorization": b"Bearer vck_FAKE0000"}, "vercel", "vercel-gateway-key"),
        ({b"authorization": b"Bearer sk-or-v1-FAKE0000"}, "openrouter", "openrouter-key"),
        ({b"x-goog-api-key": b"AIzaFAKE0000"}, "gemini", "google-api-key"),
        ({b"authorization": b"Bearer gsk_FAKE0000"}, "groq", "groq-key"),
        ({b"authorization": b"Bearer FAKEmistral0000"}, "mistral", "mistral-key"),
        ({b"api-key": b"0123FAKE"}, "azure", "azure-openai-key"),
        ({b"authorization": b"Bearer sk-FAKE0000"}, "litellm", "litellm-key"),
    ],
)
def test_auth_kind_comes_from_the_key_shape_then_the_header_then_the_route(
    headers: dict[bytes, bytes], route: str, kind: str
) -> None:
    credential = credential_of(headers, None, route)
    assert credential is not None and credential.kind == kind


def test_a_vercel_oidc_token_keeps_its_owner_and_project_but_not_the_token() -> None:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(orjson.dumps(value)).decode().rstrip("=")

    claims = {
        "iss": "https://oidc.vercel.com/acme",
        "owner": "acme",
        "project": "shop",
        "environment": "production",
    }
    token = f"{part({'alg': 'RS256'})}.{part(claims)}.FAKESIGNATURE"
    credential = credential_of({b"authorization": f"Bearer {token}".encode()}, None, "vercel")
    assert credential is not None and credential.kind == "vercel-oidc"
    assert dict(credential.claims) == claims
    assert token not in repr(credential) and "FAKESIGNATURE" not in repr(credential)


def test_a_request_without_credentials_has_none() -> None:
    assert credential_of({b"user-agent": b"x"}, None, "openai") is None


# --- SDK identity -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({b"user-agent": b"OpenAI/Python 3.57.0"}, ("openai", "3.57.0")),
        ({b"user-agent": b"AsyncAnthropic/Python 2.14.0"}, ("anthropic", "2.14.0")),
        ({b"x-goog-api-client": b"google-genai-sdk/3.6.1 gl-python/3.11.7"}, ("google-genai", "3.6.1")),
        ({b"x-fern-sdk-name": b"cohere", b"x-fern-sdk-version": b"7.3.1"}, ("cohere", "7.3.1")),
        ({b"user-agent": b"speakeasy-sdk/python 3.7.0 2.700.0 1.0.0 mistralai"}, ("mistralai", "3.7.0")),
        ({b"user-agent": b"python-httpx/0.28.1"}, ("httpx", "0.28.1")),
        ({}, (None, None)),
    ],
)
def test_sdk_name_and_version_come_from_identity_headers(
    headers: dict[bytes, bytes], expected: tuple[str | None, str | None]
) -> None:
    assert sdk_of(headers) == expected


# --- wire details -----------------------------------------------------------------------------


def test_anthropic_stream_usage_is_made_inclusive_and_later_counts_win() -> None:
    family = family_for("/v1/messages")
    assert family is not None
    facts = Facts()
    start = {
        "type": "message_start",
        "message": {
            "id": "m",
            "model": "claude-haiku-4-5",
            "usage": {
                "input_tokens": 10,
                "cache_read_input_tokens": 100,
                "cache_creation_input_tokens": 5,
                "output_tokens": 1,
            },
        },
    }
    family.read_event("message_start", orjson.dumps(start), facts)
    delta = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 42}}
    family.read_event("message_delta", orjson.dumps(delta), facts)
    family.read_event("message_stop", b'{"type":"message_stop"}', facts)
    assert (facts.input_tokens, facts.output_tokens, facts.cache_read_tokens, facts.cache_write_tokens) == (
        115,
        42,
        100,
        5,
    )
    assert facts.terminal and facts.finish_reason == "end_turn"


def test_openai_chat_chunks_are_decoded_only_when_they_can_say_something_new() -> None:
    family = family_for("/v1/chat/completions")
    assert family is not None
    facts = Facts()
    first = (
        b'{"id":"c1","model":"gpt-4o","choices":[{"delta":{"role":"assistant","content":""}}],"usage":null}'
    )
    assert family.read_event(None, first, facts) is False  # role-only chunk: not the first token
    assert facts.response_model == "gpt-4o"
    not_json = b'{"choices":[{"delta":{"content":"Hi"},"finish_reason":null}],"usage":null, BROKEN'
    assert family.read_event(None, not_json, facts) is True  # output, and never decoded
    family.read_event(None, b'{"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2}}', facts)
    family.read_event(None, b"[DONE]", facts)
    assert (facts.input_tokens, facts.output_tokens, facts.terminal) == (7, 2, True)


# --- tags -------------------------------------------------------------------------------------


def test_tags_nest_inner_overrides_and_outer_comes_back() -> None:
    with modelmeter.tag(workflow="outer", team="core"):
        with modelmeter.tag(workflow="inner", customer="c1"):
            assert dict(tags.current_tags()) == {"workflow": "inner", "team": "core", "customer": "c1"}
        assert dict(tags.current_tags()) == {"workflow": "outer", "team": "core"}
    assert tags.attribute_name("workflow") == sc.MM_WORKFLOW
    assert tags.attribute_name("customer") == sc.MM_TAG_PREFIX + "customer"


async def test_tag_decorates_async_functions_and_tasks_inherit() -> None:
    @modelmeter.tag(workflow="async-job")
    async def job() -> dict[str, str]:
        child = asyncio.create_task(asyncio.sleep(0, result=dict(tags.current_tags())))
        return await child

    assert (await job())["workflow"] == "async-job"
    assert "workflow" not in tags.current_tags() or tags.current_tags()["workflow"] != "async-job"


def test_plain_threads_do_not_inherit_tags_but_a_copied_context_does() -> None:
    seen: dict[str, object] = {}

    @modelmeter.tag(workflow="sync-job")
    def job() -> None:
        thread = threading.Thread(target=lambda: seen.setdefault("thread", dict(tags.current_tags())))
        thread.start()
        thread.join()
        with ThreadPoolExecutor(1) as pool:
            seen["pool"] = pool.submit(
                contextvars.copy_context().run, lambda: dict(tags.current_tags())
            ).result()

    job()
    assert seen["thread"].get("workflow") != "sync-job"  # type: ignore[attr-defined]
    assert seen["pool"]["workflow"] == "sync-job"  # type: ignore[index]


def test_environment_gives_process_wide_default_tags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELMETER_WORKFLOW", "batch")
    monkeypatch.setenv("MODELMETER_TEAM", "data")
    try:
        tags.load_defaults()
        with modelmeter.tag(team="ml"):
            assert dict(tags.current_tags()) == {"workflow": "batch", "team": "ml"}
    finally:
        monkeypatch.delenv("MODELMETER_WORKFLOW")
        monkeypatch.delenv("MODELMETER_TEAM")
        tags.load_defaults()


def test_a_request_too_large_to_decode_still_gives_its_model_and_stream_flag() -> None:
    from modelmeter.instrument.request import MAX_PARSED_REQUEST_BYTES, decode_body

    prompt = "x" * (MAX_PARSED_REQUEST_BYTES + 10)
    body = orjson.dumps(
        {"messages": [{"role": "user", "content": prompt}], "model": "gpt-4o", "stream": True}
    )
    assert decode_body(body) == {"model": "gpt-4o", "stream": True}


def test_skim_skips_events_before_the_first_probe_and_reads_the_rest() -> None:
    events: list[tuple[str | None, bytes]] = []
    framer = SSEFramer(lambda event, data: events.append((event, data)))
    framer.skim(b"data: a\n\ndata: b\n\ndata: c", (b"zzz",))
    assert events == []
    framer.skim(b'"zzz"\n\ndata: d\n\ndata: e', (b"zzz",))
    framer.flush()
    assert events == [(None, b'c"zzz"'), (None, b"d"), (None, b"e")]


def test_skim_looks_for_spaced_probes_only_in_data_written_with_spaces() -> None:
    events: list[tuple[str | None, bytes]] = []
    framer = SSEFramer(lambda event, data: events.append((event, data)))
    compact, spaced = (b'"usage":{',), (b'"usage": {',)
    framer.skim(b'data: {"a":1}\n\ndata: {"usage": {"n": 2}}\n\n', compact, spaced)
    framer.skim(b'data: {"b":1}\n\ndata: {"usage":{"n":3}}\n\n', compact, spaced)
    assert events == [(None, b'{"usage": {"n": 2}}'), (None, b'{"usage":{"n":3}}')]


def test_a_vendor_route_is_skimmed_without_other_vendors_extras() -> None:
    family = FAMILIES[0]
    assert family.NAME == "openai.chat" and family.SKIM is not None
    assert b'"x_groq"' not in (family.skim_probes("openai") or ())
    assert b'"x_groq"' in (family.skim_probes("groq") or ())
    assert family.skim_probes(None) == family.SKIM and family.skim_probes("vercel") == family.SKIM


class _Failure:
    """Finds out, when asked, that the attempt failed (as reading its body would)."""

    def outcome(self) -> bool:
        return True


class _Attempt:
    """The least an attempt must have for `correlation`."""

    call_id, attempt, fallback_from, began_at = "", 0, None, 1.0

    def __init__(self, scope: tuple[int, int]) -> None:
        self.scope = scope

    def identity(self) -> tuple[int, str | None, int | None]:
        return 1, "openai/gpt-4o-mini", None


def test_a_call_ended_by_garbage_collection_inside_settle_does_not_deadlock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An abandoned stream in a reference cycle is ended when the cyclic collector runs, on whatever
    thread allocated at that moment, also one inside `correlation.settle`; with SDK spans that end
    settles too."""
    real_last = correlation._Last

    def last_that_triggers_a_collection(*args: object) -> object:
        correlation.ended((_Attempt((-1, 0)), 2.0, True))  # what the abandoned call's end does
        correlation.settle()
        return real_last(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(correlation, "_Last", last_that_triggers_a_collection)
    attempt = _Attempt((-2, 0))
    settled = threading.Event()

    def settle() -> None:
        correlation.began(attempt)
        correlation.settle()
        settled.set()

    threading.Thread(target=settle, daemon=True).start()
    assert settled.wait(5), "correlation.settle deadlocked on its own lock"
    assert len(attempt.call_id) == 16


def test_settling_later_decides_as_deciding_at_once() -> None:
    """The log is replayed with the times it recorded: a failure that ended 3 s before the next
    attempt makes that attempt a retry (same body) or a fallback (other model), even when settled
    much later; 12 s apart, the same body is a new call."""
    scope = (-3, 0)
    first, retry = _Attempt(scope), _Attempt(scope)
    retry.began_at = 4.0
    correlation.began(first)
    correlation.ended((first, 1.0 + 0.1, _Failure()))  # a failure found by reading the body
    correlation.began(retry)
    correlation.ended((retry, 4.5, True))
    late = _Attempt(scope)
    late.began_at = 16.6
    correlation.began(late)
    correlation.settle()
    assert (retry.call_id, retry.attempt) == (first.call_id, 1)
    assert late.call_id != first.call_id and late.attempt == 0

    other_scope = (-4, 0)
    failed, fallback = _Attempt(other_scope), _Attempt(other_scope)
    fallback.identity = lambda: (2, "openai/gpt-4o", None)  # type: ignore[method-assign]
    fallback.began_at = 3.0
    correlation.began(failed)
    correlation.ended((failed, 1.5, _Failure()))
    correlation.began(fallback)
    correlation.settle()
    assert fallback.call_id != failed.call_id and fallback.fallback_from == "openai/gpt-4o-mini"


def test_the_body_key_of_a_large_request_is_its_samples_and_length() -> None:
    """Retries send the same bytes; a large body is keyed by samples (hashing it whole is slow)."""
    from modelmeter.instrument.request import body_key

    small = b'{"model":"m","messages":[]}'
    assert body_key(small) == body_key(bytes(bytearray(small))) == hash(small)
    large = orjson.dumps({"messages": [{"role": "user", "content": "x" * 200_000}], "model": "m"})
    assert body_key(large) == body_key(bytes(bytearray(large)))  # the same bytes, another object
    assert body_key(large) != body_key(large.replace(b'"m"}', b'"n"}'))  # the end differs
    assert body_key(large) != body_key(large[:-1] + b" }")  # one byte longer
    head_differs = large.replace(b'"role":"user"', b'"role":"tool"')
    assert body_key(large) != body_key(head_differs)


def test_headers_are_read_as_triples_from_the_private_list_or_else_from_raw() -> None:
    """httpx and httpx2 keep (name, lower-cased name, value) triples, read without a Python call; a
    headers class that keeps anything else is read through its public `raw` pairs."""

    class RawOnly:
        def __init__(self, headers: dict[str, str]) -> None:
            self.raw = [(k.encode(), v.encode()) for k, v in headers.items()]

    for headers_class in (httpx.Headers, httpx2.Headers, RawOnly):
        items_of = header_items_reader(headers_class)
        triples = tuple(items_of(headers_class({"Content-Type": "text/event-stream", "X-Id": "7"})))
        assert triples == ((b"Content-Type", b"content-type", b"text/event-stream"), (b"X-Id", b"x-id", b"7"))
        assert lowered(triples) == {b"content-type": b"text/event-stream", b"x-id": b"7"}


def test_only_the_libraries_own_transport_methods_run_alone() -> None:
    """Our span is made current during a request only when code beneath the wrapped method could read
    it: anything but httpx's or httpx2's own method (say the OpenTelemetry httpx instrumentor's)."""
    assert shim._runs_alone(httpx.HTTPTransport.handle_request)
    assert shim._runs_alone(httpx2.AsyncHTTPTransport.handle_async_request)
    assert not shim._runs_alone(lambda transport, request: None)
    instrumentor = HTTPX2ClientInstrumentor()
    instrumentor.instrument()
    try:
        assert not shim._runs_alone(httpx2.HTTPTransport.__dict__["handle_request"])
    finally:
        instrumentor.uninstrument()


def test_the_context_shortcuts_agree_with_the_opentelemetry_api() -> None:
    """`current.py` reaches OpenTelemetry's ContextVar directly: what it sets the API must read,
    and a span it makes current must be the API's current span."""
    span = trace.NonRecordingSpan(trace.SpanContext(7, 9, False, trace.TraceFlags(trace.TraceFlags.SAMPLED)))
    made = current.with_span(current.get(), span)
    assert trace.get_current_span(made) is span and current.parent_of(made) == span.get_span_context()
    assert current.parent_of(otel_context.Context()) is None
    token = current.set(made)
    try:
        assert otel_context.get_current() is made and trace.get_current_span() is span
    finally:
        current.reset(token)
    assert trace.get_current_span() is not span
