"""The Vercel AI Gateway's own figures on every surface it serves, through the real SDKs (spec §7.5).

Chat completions, Responses and Anthropic Messages, streamed and not, and embeddings, each with the
gateway's own credentials and with the caller's (BYOK): the span says the cost the call really
costs (under BYOK the market cost, never the gateway's "0"), the provider that served, the
generation id, and whether it was BYOK.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import anthropic
import openai
import pytest
from openai.types.chat import ChatCompletion
from support.recorder import Recorder

from modelmeter import semconv as sc
from modelmeter.instrument.providers import Facts, openai_chat
from modelmeter.mock import MockProviders

PROMPT = "Which team spent most on AI last week?"
BYOK = {"providerOptions": {"gateway": {"byok": {"anthropic": [{"apiKey": "sk-ant-FAKE"}]}}}}


def _openai(mock: MockProviders, keys: dict[str, str]) -> openai.OpenAI:
    return openai.OpenAI(base_url=mock.base_url("vercel"), api_key=keys["vercel"], max_retries=0)


def chat(mock: MockProviders, keys: dict[str, str], stream: bool, extra: dict[str, Any]) -> None:
    client, messages = _openai(mock, keys), [{"role": "user", "content": PROMPT}]
    if not stream:
        client.chat.completions.create(model="openai/gpt-4o-mini", messages=messages, extra_body=extra)  # type: ignore[arg-type]
        return
    chunks = client.chat.completions.create(
        model="openai/gpt-4o-mini",
        messages=messages,  # type: ignore[arg-type]
        stream=True,
        stream_options={"include_usage": True},
        extra_body=extra,
    )
    for _ in chunks:
        pass


def responses(mock: MockProviders, keys: dict[str, str], stream: bool, extra: dict[str, Any]) -> None:
    client = _openai(mock, keys)
    if not stream:
        client.responses.create(model="openai/gpt-4.1-mini", input=PROMPT, extra_body=extra)
        return
    for _ in client.responses.create(
        model="openai/gpt-4.1-mini", input=PROMPT, stream=True, extra_body=extra
    ):
        pass


def messages(mock: MockProviders, keys: dict[str, str], stream: bool, extra: dict[str, Any]) -> None:
    client = anthropic.Anthropic(base_url=mock.origin("vercel"), api_key=keys["vercel"], max_retries=0)
    request: dict[str, Any] = {
        "model": "anthropic/claude-sonnet-4.5",
        "max_tokens": 128,
        "messages": [{"role": "user", "content": PROMPT}],
        "extra_body": extra,
    }
    if not stream:
        client.messages.create(**request)
        return
    with client.messages.stream(**request) as events:
        events.get_final_message()


def embeddings(mock: MockProviders, keys: dict[str, str], stream: bool, extra: dict[str, Any]) -> None:
    _openai(mock, keys).embeddings.create(
        model="openai/text-embedding-3-small", input=PROMPT, extra_body=extra
    )


SURFACES = [
    pytest.param(
        call,
        stream,
        byok,
        id=f"{call.__name__}-{'stream' if stream else 'json'}-{'byok' if byok else 'system'}",
    )
    for call, streams in (
        (chat, (False, True)),
        (responses, (False, True)),
        (messages, (False, True)),
        (embeddings, (False,)),
    )
    for stream in streams
    for byok in (False, True)
]


@pytest.mark.parametrize(("call", "stream", "byok"), SURFACES)
def test_each_surface_carries_the_gateway_s_cost_provider_and_generation_id(
    mock: MockProviders, recorder: Recorder, fake_keys: dict[str, str], call: Any, stream: bool, byok: bool
) -> None:
    call(mock, fake_keys, stream, BYOK if byok else {})
    (served,) = mock.calls
    attrs = recorder.only()
    assert (attrs[sc.MM_ROUTE], attrs[sc.MM_GATEWAY]) == ("gateway", "vercel")
    assert attrs[sc.MM_PLATFORM] == served.served_by
    assert served.byok is byok and served.reported_cost_usd and served.reported_cost_usd > 0
    reported = Decimal(attrs[sc.MM_REPORTED_COST_USD])
    assert reported == served.reported_cost_usd  # under BYOK the market cost, never "0"
    assert Decimal(attrs[sc.MM_GATEWAY_MARKET_COST_USD]) == reported
    assert attrs[sc.MM_GATEWAY_GENERATION_ID].startswith("gen_01JMOCK")
    if byok:
        assert attrs[sc.MM_GATEWAY_BYOK] is True and Decimal(attrs[sc.MM_GATEWAY_BILLED_USD]) == 0
        assert attrs[sc.MM_REPORTED_COST_SOURCE] == "vercel.provider_metadata.gateway.marketCost"
    else:
        assert sc.MM_GATEWAY_BYOK not in attrs
        assert Decimal(attrs[sc.MM_GATEWAY_BILLED_USD]) == reported
    assert Decimal(attrs[sc.MM_COST_USD]) > 0  # our own estimate stands beside it


def test_openrouter_byok_reports_its_fee_plus_the_upstream_cost() -> None:
    """OpenRouter under BYOK: `usage.cost` is only its own fee; the provider bills the upstream cost."""
    completion = ChatCompletion.model_validate(
        {
            "id": "gen-1",
            "object": "chat.completion",
            "created": 1,
            "model": "anthropic/claude-sonnet-4.5",
            "provider": "Anthropic",
            "choices": [
                {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hi"}}
            ],
            "usage": {
                "prompt_tokens": 100,
                "completion_tokens": 20,
                "total_tokens": 120,
                "cost": 0.0000315,
                "is_byok": True,
                "cost_details": {"upstream_inference_cost": 0.00063},
            },
        }
    )
    facts = Facts()
    openai_chat.FAMILY.read_json(completion.model_dump(mode="json"), facts)
    assert facts.reported_cost == Decimal("0.0006615")
    assert facts.reported_cost_source == "usage.cost+cost_details.upstream_inference_cost"
    assert facts.extras == {sc.MM_GATEWAY_BYOK: True, sc.MM_GATEWAY_BILLED_USD: "0.0000315"}
