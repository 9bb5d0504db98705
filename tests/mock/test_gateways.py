"""The gateway mocks (Vercel AI Gateway, OpenRouter) route through fallback chains and report cost."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import anthropic
import httpx
import openai
import pytest

from modelmeter.mock import Knobs, MockProviders

MESSAGES: Any = [{"role": "user", "content": "Route me somewhere cheap."}]


def _client(mock: MockProviders, keys: dict[str, str], vendor: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=mock.base_url(vendor), api_key=keys[vendor], max_retries=0)


def test_vercel_fallback_list_serves_the_next_model_and_reports_the_failed_attempt(
    mock: MockProviders, fake_keys: dict[str, str]
) -> None:
    mock.configure("vercel", Knobs(fail_models=["anthropic/claude-sonnet-4.5"]))
    response = _client(mock, fake_keys, "vercel").chat.completions.create(
        model="anthropic/claude-sonnet-4.5",
        messages=MESSAGES,
        extra_body={
            "providerOptions": {"gateway": {"models": ["openai/gpt-4o-mini", "google/gemini-2.5-flash"]}}
        },
    )
    served = mock.calls[-1]
    assert response.id.startswith("gen_") and response.model == "openai/gpt-4o-mini" == served.response_model
    assert (served.request_model, served.provider, served.served_by) == (
        "anthropic/claude-sonnet-4.5",
        "openai",
        "openai",
    )
    gateway = response.choices[0].message.provider_metadata["gateway"]  # type: ignore[attr-defined]
    attempts = gateway["routing"]["attempts"]
    assert [(a["provider"], a["success"]) for a in attempts] == [("anthropic", False), ("openai", True)]
    assert gateway["routing"]["finalProvider"] == "openai"
    assert Decimal(gateway["cost"]) == served.reported_cost_usd == Decimal(str(response.usage.cost))  # type: ignore[union-attr]
    assert served.reported_cost_usd is not None and served.reported_cost_usd > 0


def test_vercel_stream_puts_generation_id_first_and_cost_last(
    mock: MockProviders, fake_keys: dict[str, str]
) -> None:
    chunks = list(
        _client(mock, fake_keys, "vercel").chat.completions.create(
            model="openai/gpt-4o-mini", messages=MESSAGES, stream=True
        )
    )
    served = mock.calls[-1]
    first_content = next(c for c in chunks if c.choices and c.choices[0].delta.content)
    assert first_content.choices[0].delta.provider_metadata["gateway"]["generationId"] == served.response_id  # type: ignore[attr-defined]
    final = next(c for c in chunks if c.choices and c.choices[0].finish_reason)
    cost = final.choices[0].delta.provider_metadata["gateway"]["cost"]  # type: ignore[attr-defined]
    assert Decimal(cost) == served.reported_cost_usd
    assert served.usage is None  # no include_usage: the stream carried no usage


def test_vercel_anthropic_compatible_messages(mock: MockProviders, fake_keys: dict[str, str]) -> None:
    client = anthropic.Anthropic(base_url=mock.origin("vercel"), api_key=fake_keys["vercel"], max_retries=0)
    message = client.messages.create(model="anthropic/claude-sonnet-4.5", max_tokens=64, messages=MESSAGES)
    served = mock.calls[-1]
    assert message.model == "anthropic/claude-sonnet-4.5" and served.served_by == "anthropic"
    assert served.reported_cost_usd is not None and served.path == "/v1/messages"


def test_vercel_all_models_failing_is_a_gateway_error(mock: MockProviders, fake_keys: dict[str, str]) -> None:
    with pytest.raises(openai.InternalServerError):
        _client(mock, fake_keys, "vercel").chat.completions.create(
            model="openai/gpt-4o-mini",
            messages=MESSAGES,
            extra_headers={"x-mock-fail-models": "openai/gpt-4o-mini"},
        )
    assert (mock.calls[-1].http_status, mock.calls[-1].fault) == (503, "fail_models")


def test_openrouter_models_fallback_serves_the_next_model(
    mock: MockProviders, fake_keys: dict[str, str]
) -> None:
    response = _client(mock, fake_keys, "openrouter").chat.completions.create(
        model="openai/gpt-4o",
        messages=MESSAGES,
        extra_body={"models": ["anthropic/claude-sonnet-4.5", "google/gemini-2.5-flash"]},
        extra_headers={"x-mock-fail-models": "openai/gpt-4o"},
    )
    served = mock.calls[-1]
    assert response.model == "anthropic/claude-sonnet-4.5" == served.response_model
    assert response.provider == "Anthropic" == served.served_by  # type: ignore[attr-defined]
    assert response.id.startswith("gen-") and served.request_model == "openai/gpt-4o"
    assert Decimal(str(response.usage.cost)) == served.reported_cost_usd  # type: ignore[union-attr]


def test_openrouter_stream_has_processing_comments_and_usage_without_asking(mock: MockProviders) -> None:
    body = {"model": "openai/gpt-4o-mini", "messages": MESSAGES, "stream": True}
    text = httpx.post(mock.base_url("openrouter") + "/chat/completions", json=body).text
    assert text.startswith(": OPENROUTER PROCESSING\n\n") and text.endswith("data: [DONE]\n\n")
    served = mock.calls[-1]
    assert served.usage is not None and served.reported_cost_usd is not None


def test_openrouter_error_inside_http_200_has_finish_reason_error(
    mock: MockProviders, fake_keys: dict[str, str]
) -> None:
    client = _client(mock, fake_keys, "openrouter")
    response = client.chat.completions.create(
        model="openai/gpt-4o-mini", messages=MESSAGES, extra_headers={"x-mock-fault": "error_after_200"}
    )
    served = mock.calls[-1]
    assert response.choices[0].finish_reason == "error" == served.finish_reason
    assert served.http_status == 200 and served.usage is None


def test_openrouter_mid_stream_error_chunk_makes_the_openai_sdk_raise(
    mock: MockProviders, fake_keys: dict[str, str]
) -> None:
    client = _client(mock, fake_keys, "openrouter")
    with pytest.raises(openai.APIError, match="Upstream provider error"):
        list(
            client.chat.completions.create(
                model="openai/gpt-4o-mini",
                messages=MESSAGES,
                stream=True,
                extra_headers={"x-mock-fault": "error_after_200"},
            )
        )
    served = mock.calls[-1]
    assert served.finish_reason == "error" and served.http_status == 200
