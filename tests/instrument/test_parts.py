"""The shim's classifiers: wire family by path, route by host, configuration and headers, canonical names;
the retry key of a request body; when our span must be made current."""

from __future__ import annotations

import httpx
import httpx2
import orjson
import pytest
from opentelemetry.instrumentation.httpx import HTTPX2ClientInstrumentor

from modelmeter.instrument import shim
from modelmeter.instrument.naming import canonical
from modelmeter.instrument.providers import family_for
from modelmeter.instrument.routes import gateway_from_headers, kind_of, parse_endpoints

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
        # a test harness's settings tail is never part of the model
        ("gpt-4o-mini@fault=429,retry_after=0.01", "openai/gpt-4o-mini"),
        ("openai/gpt-4o@fail_models=openai/gpt-4o", "openai/gpt-4o"),
        ("gemini-2.5-flash@001", "google/gemini-2.5-flash"),
    ],
)
def test_canonical_names_meet_across_direct_and_gateway_spellings(model: str, expected: str) -> None:
    assert canonical(model, None)[1] == expected


def test_an_unknown_model_takes_the_serving_vendor() -> None:
    assert canonical("my-finetune", "mistral") == ("mistral", "mistral/my-finetune")
    assert canonical("my-finetune", None) == (None, "my-finetune")


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
