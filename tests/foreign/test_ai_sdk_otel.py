"""The AI SDK's newer tracer (`@ai-sdk/otel`, scope `gen_ai`) gives what its legacy `ai.*` spans give.

Synthetic spans in the shapes the tracer's source writes (vercel/ai `packages/otel/src/open-telemetry.ts`:
`chat {model}` CLIENT spans with `gen_ai.*` usage, `ai.response.providerMetadata` when
`providerMetadata: true`; `mapProviderName` leaves the gateway's id `gateway` as it is). The Node
package is not installed here, so the spans are built, not captured.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from modelmeter import semconv as sc
from modelmeter.ingest.normalise import SpanIn, layers, registry


def metadata(*, byok: bool) -> dict[str, Any]:
    attempt = {"provider": "bedrock", "credentialType": "byok" if byok else "system", "success": True}
    return {
        "gateway": {
            "routing": {"finalProvider": "bedrock", "attempts": [attempt]},
            "cost": "0" if byok else "0.0004215",
            "marketCost": "0.0004215",
            "generationId": "gen_01JMOCKGEN0000000000000012",
        }
    }


def legacy_span(meta: dict[str, Any]) -> SpanIn:
    return SpanIn(
        trace_id="e" * 32,
        span_id="f" * 16,
        parent_span_id="1" * 16,
        name="ai.generateText.doGenerate",
        kind=3,
        start_ns=1,
        end_ns=2,
        status_code=1,
        status_message=None,
        attributes={
            "ai.operationId": "ai.generateText.doGenerate",
            "ai.model.provider": "gateway",
            "ai.model.id": "anthropic/claude-sonnet-4.5",
            "ai.response.model": "anthropic/claude-sonnet-4.5",
            "ai.usage.inputTokens": 100,
            "ai.usage.outputTokens": 10,
            "ai.response.providerMetadata": json.dumps(meta),
        },
        scope_name="ai",
    )


def otel_span(meta: dict[str, Any] | None, *, name: str = "chat anthropic/claude-sonnet-4.5") -> SpanIn:
    operation = name.split(" ")[0]
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": operation,
        "gen_ai.provider.name": "gateway",
        "gen_ai.request.model": "anthropic/claude-sonnet-4.5",
        "gen_ai.response.model": "anthropic/claude-sonnet-4.5",
        "gen_ai.usage.input_tokens": 100,
        "gen_ai.usage.output_tokens": 10,
    }
    if meta is not None:
        attributes["ai.response.providerMetadata"] = json.dumps(meta)
    return SpanIn(
        trace_id="e" * 32,
        span_id="a" * 16,
        parent_span_id="b" * 16,
        name=name,
        kind=3,
        start_ns=1,
        end_ns=2,
        status_code=1,
        status_message=None,
        attributes=attributes,
        scope_name="gen_ai",
    )


GATEWAY_COLUMNS = (
    "route",
    "gateway",
    "provider",
    "platform",
    "model",
    "reported_cost_usd",
    "reported_cost_source",
)
GATEWAY_ATTRIBUTES = (
    sc.MM_GATEWAY_BYOK,
    sc.MM_GATEWAY_GENERATION_ID,
    sc.MM_GATEWAY_BILLED_USD,
    sc.MM_GATEWAY_MARKET_COST_USD,
)


@pytest.mark.parametrize("byok", [False, True], ids=["system", "byok"])
def test_the_newer_tracer_yields_the_legacy_spans_gateway_figures(byok: bool) -> None:
    legacy = registry.to_record(legacy_span(metadata(byok=byok)))
    newer = registry.to_record(otel_span(metadata(byok=byok)))
    assert legacy is not None and newer is not None
    assert (legacy["source"], newer["source"]) == ("vercel-ai-sdk", "ai-sdk-otel")
    assert (
        {k: newer[k] for k in GATEWAY_COLUMNS}
        == {k: legacy[k] for k in GATEWAY_COLUMNS}
        == {
            "route": "gateway",
            "gateway": "vercel",
            "provider": "anthropic",
            "platform": "aws.bedrock",
            "model": "anthropic/claude-sonnet-4.5",
            "reported_cost_usd": "0.0004215",  # under BYOK the market cost: never shown as free
            "reported_cost_source": "vercel.provider_metadata.gateway." + ("marketCost" if byok else "cost"),
        }
    )
    for record in (legacy, newer):
        kept = {k: record["attributes"].get(k) for k in GATEWAY_ATTRIBUTES}
        assert kept == {
            sc.MM_GATEWAY_BYOK: True if byok else None,
            sc.MM_GATEWAY_GENERATION_ID: "gen_01JMOCKGEN0000000000000012",
            sc.MM_GATEWAY_BILLED_USD: "0" if byok else "0.0004215",
            sc.MM_GATEWAY_MARKET_COST_USD: "0.0004215",
        }
    assert (newer["input_tokens"], newer["output_tokens"]) == (100, 10)


def test_without_provider_metadata_the_call_is_still_a_vercel_gateway_call() -> None:
    record = registry.to_record(otel_span(None))
    assert record is not None
    assert (record["route"], record["gateway"], record["reported_cost_usd"]) == ("gateway", "vercel", None)


def test_the_agent_root_is_not_a_call_and_embedding_spans_yield_to_their_children() -> None:
    assert registry.to_record(otel_span(None, name="invoke_agent anthropic/claude-sonnet-4.5")) is None
    embedding = registry.to_record(otel_span(None, name="embeddings openai/text-embedding-3-small"))
    assert embedding is not None and embedding[layers.LAYER_KEY] == layers.OUTER
