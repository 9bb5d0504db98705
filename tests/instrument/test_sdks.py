"""The real provider SDKs, instrumented, against the mock: every span says exactly what the mock served.

The SDK runners (one per wire family, sync and async, streamed and not) are the ones the mock's own
tests use; here the same calls go through the shim and the span is compared with the mock's truth.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

import pytest
from support.recorder import Recorder
from support.sdk_calls import CASES, PARAMS

import modelmeter
from modelmeter import semconv as sc
from modelmeter.instrument import clock
from modelmeter.mock import MockProviders, ServedCall

GATEWAYS = {"vercel", "openrouter"}


def assert_span_matches(attrs: dict[str, Any], served: ServedCall) -> None:
    """Every fact the mock knows about the call is on the span, with the same value."""
    assert attrs[sc.GEN_AI_OPERATION_NAME] == served.operation
    assert attrs[sc.GEN_AI_REQUEST_MODEL] == served.request_model
    # image responses carry no model on the wire (the mock's truth names the requested one)
    expected_response_model = None if served.operation == "images" else served.response_model
    assert attrs.get(sc.GEN_AI_RESPONSE_MODEL) == expected_response_model
    assert attrs.get(sc.GEN_AI_RESPONSE_ID) == served.response_id
    assert attrs[sc.GEN_AI_REQUEST_STREAM] is served.streaming
    assert attrs[sc.HTTP_RESPONSE_STATUS_CODE] == served.http_status
    assert attrs.get(sc.MM_FINISH_REASON) == served.finish_reason
    assert attrs.get(sc.MM_REQUEST_ID) == served.request_id
    assert attrs[sc.MM_PROVIDER] == served.provider
    if served.usage is None:
        assert attrs[sc.MM_USAGE_KNOWN] is False
    else:
        assert attrs[sc.MM_USAGE_KNOWN] is True
        got = (
            attrs[sc.MM_INPUT_TOKENS],
            attrs[sc.MM_OUTPUT_TOKENS],
            attrs[sc.MM_CACHE_READ_TOKENS],
            attrs[sc.MM_CACHE_WRITE_TOKENS],
            attrs[sc.MM_REASONING_TOKENS],
        )
        u = served.usage
        assert got == (
            u.input_tokens,
            u.output_tokens,
            u.cache_read_tokens,
            u.cache_write_tokens,
            u.reasoning_tokens,
        )
        assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == u.input_tokens
        assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == u.output_tokens
    if served.vendor in GATEWAYS:
        assert (attrs[sc.MM_ROUTE], attrs[sc.MM_GATEWAY]) == ("gateway", served.vendor)
        assert attrs.get(sc.MM_PLATFORM) == served.served_by
    else:
        assert attrs[sc.MM_ROUTE] == "direct" and sc.MM_GATEWAY not in attrs
    reported = attrs.get(sc.MM_REPORTED_COST_USD)
    assert (Decimal(reported) if reported is not None else None) == served.reported_cost_usd
    assert attrs[sc.MM_STATUS] == "ok" and attrs[sc.MM_TRUNCATED] is False
    assert sc.ERROR_TYPE not in attrs and sc.MM_PARSE_ERROR not in attrs
    assert attrs[sc.MM_ATTEMPT] == 0 and attrs[sc.MM_CALL_ID]
    assert attrs[sc.MM_SDK] and attrs[sc.MM_KEY_FINGERPRINT] and attrs[sc.MM_AUTH_KIND]


@pytest.mark.parametrize(("name", "stream", "is_async"), PARAMS)
async def test_span_equals_what_the_mock_served(
    mock: MockProviders,
    recorder: Recorder,
    fake_keys: dict[str, str],
    name: str,
    stream: bool,
    is_async: bool,
) -> None:
    await CASES[name].run(mock, fake_keys, stream, is_async)
    (served,) = mock.calls
    attrs = recorder.only()
    assert_span_matches(attrs, served)
    if stream and served.operation != "embeddings":
        assert 0 < attrs[sc.MM_TTFT_MS] <= attrs[sc.MM_DURATION_MS]
    else:
        assert sc.MM_TTFT_MS not in attrs


def test_canonical_model_is_the_same_direct_and_through_a_gateway(
    mock: MockProviders, recorder: Recorder, fake_keys: dict[str, str]
) -> None:
    import anthropic

    direct = anthropic.Anthropic(base_url=mock.base_url("anthropic"), api_key=fake_keys["anthropic"])
    gateway = anthropic.Anthropic(base_url=mock.origin("vercel"), api_key=fake_keys["vercel"])
    message: Any = [{"role": "user", "content": "hi"}]
    direct.messages.create(model="claude-sonnet-4-5-20250929", max_tokens=64, messages=message)
    gateway.messages.create(model="anthropic/claude-sonnet-4.5", max_tokens=64, messages=message)
    models = [dict(s.attributes or {})[sc.MM_MODEL] for s in recorder.spans()]
    assert models == ["anthropic/claude-sonnet-4.5", "anthropic/claude-sonnet-4.5"]


def test_content_is_not_captured_unless_asked(
    mock: MockProviders, recorder: Recorder, fake_keys: dict[str, str]
) -> None:
    asyncio.run(CASES["openai-chat"].run(mock, fake_keys, False, False))
    attrs = recorder.only()
    assert sc.GEN_AI_INPUT_MESSAGES not in attrs and sc.GEN_AI_OUTPUT_MESSAGES not in attrs


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_captured_content_is_cut_at_the_size_cap(
    mock: MockProviders, fake_keys: dict[str, str], stream: bool
) -> None:
    rec = Recorder()
    modelmeter.instrument(
        tracer_provider=rec.provider,
        spool=False,
        endpoints=mock.endpoints,
        capture_content=True,
        capture_max_bytes=12,
    )
    try:
        asyncio.run(CASES["anthropic-messages"].run(mock, fake_keys, stream, False))
    finally:
        modelmeter.uninstrument()
    attrs = rec.only()
    assert attrs[sc.GEN_AI_OUTPUT_MESSAGES] == (mock.calls[0].content or "")[:12]
    assert len(attrs[sc.GEN_AI_INPUT_MESSAGES]) == 12 and attrs[sc.MM_CAPTURE_TRUNCATED] is True


def test_the_demo_clock_moves_span_times_but_not_durations(
    mock: MockProviders, recorder: Recorder, fake_keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    week_ago = time.time_ns() - 7 * 24 * 3600 * 10**9
    monkeypatch.setattr(clock, "now_ns", lambda: week_ago)
    asyncio.run(CASES["openai-chat"].run(mock, fake_keys, False, False))
    (span,) = recorder.spans()
    assert span.start_time == week_ago
    assert span.end_time is not None and 0 < span.end_time - week_ago < 10 * 10**9
    assert (span.end_time - week_ago) / 1e6 == pytest.approx(
        dict(span.attributes or {})[sc.MM_DURATION_MS], rel=1e-3
    )


def test_litellm_proxy_headers_give_the_gateway_its_cost_and_upstream() -> None:
    from modelmeter.instrument.providers.base import Facts
    from modelmeter.instrument.providers.gateway_extras import read_litellm_headers
    from modelmeter.instrument.routes import gateway_from_headers

    headers = {"x-litellm-response-cost": "0.00042", "x-litellm-model-api-base": "https://api.openai.com/v1"}
    facts = Facts()
    read_litellm_headers(headers, facts)
    assert (facts.reported_cost, facts.served_by) == (Decimal("0.00042"), "api.openai.com")
    assert gateway_from_headers({k.encode(): v.encode() for k, v in headers.items()}) == "litellm"
