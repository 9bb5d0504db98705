"""The Vercel AI SDK's `experimental_telemetry` (npm `ai`, scope `ai`).

Each call makes an outer span (`ai.generateText`, `ai.streamText`, ...) holding usage summed over its
steps, and one provider span per HTTP call (`ai.generateText.doGenerate`, `ai.streamText.doStream`,
`ai.embed.doEmbed`) with the same usage. The outer span is marked as a wrapper (`layers.OUTER`): ingest
keeps the provider span and moves the wrapper's attribution onto it, so a call counts once.
`ai.model.provider` is `<provider>.<api>` (`openai.chat`, `anthropic.messages`, `gateway`), also copied
to `gen_ai.system`. Time to first chunk is `ai.response.msToFirstChunk`, in milliseconds: the first
stream part from the provider, which for OpenAI chat is the first output but for Anthropic is the
metadata from `message_start`, before the first token (kept as `ttft_ms`, the best the source offers).
Finish reasons are the SDK's unified ones (`stop`, `length`, `tool-calls`), not the provider's. Through
the Vercel AI Gateway, `ai.response.providerMetadata` carries what the gateway billed and who served;
it is read by the shim's own reader of that metadata (`gateway_facts`), so BYOK, the market cost and
the generation id come out the same whichever way the call was seen.
"""

from __future__ import annotations

from typing import Any

from modelmeter.ingest.normalise import SpanIn, layers
from modelmeter.ingest.normalise._common import (
    attr,
    first_of,
    float_attr,
    int_attr,
    json_attr,
    new_record,
    platform_of,
    set_route,
    set_usage,
    ttft_ms,
)
from modelmeter.instrument.providers import Facts
from modelmeter.instrument.providers.gateway_extras import read_vercel_metadata

NAME = "vercel-ai-sdk"
SCOPE = "ai"

OPERATION_ID = "ai.operationId"
INNER_SUFFIXES = (".doGenerate", ".doStream", ".doEmbed")
STREAM_OPERATIONS = "ai.stream"  # ai.streamText, ai.streamObject and their doStream spans
EMBED_OPERATIONS = "ai.embed"  # ai.embed, ai.embedMany and their doEmbed spans
# the API part of `ai.model.provider` -> operation, for the calls that are not plain chat
OPERATION_OF_API = {"responses": "responses", "generative-ai": "generate_content"}
MODEL_PROVIDER = "ai.model.provider"
REQUEST_MODEL = ("ai.model.id", "gen_ai.request.model")
RESPONSE_MODEL = ("ai.response.model", "gen_ai.response.model")
RESPONSE_ID = ("ai.response.id", "gen_ai.response.id")
FINISH_REASON = ("ai.response.finishReason", "gen_ai.response.finish_reasons")
INPUT = ("ai.usage.inputTokens", "ai.usage.promptTokens", "gen_ai.usage.input_tokens", "ai.usage.tokens")
OUTPUT = ("ai.usage.outputTokens", "ai.usage.completionTokens", "gen_ai.usage.output_tokens")
CACHE_READ = ("ai.usage.inputTokenDetails.cacheReadTokens", "ai.usage.cachedInputTokens")
CACHE_WRITE = ("ai.usage.inputTokenDetails.cacheWriteTokens",)
REASONING = ("ai.usage.outputTokenDetails.reasoningTokens", "ai.usage.reasoningTokens")
MS_TO_FIRST_CHUNK = "ai.response.msToFirstChunk"
FUNCTION_ID = "ai.telemetry.functionId"
METADATA_PREFIX = "ai.telemetry.metadata."
TAG_COLUMNS = ("workflow", "team", "tier", "run")
PROVIDER_METADATA = "ai.response.providerMetadata"


def recognises(span: SpanIn) -> bool:
    return span.scope_name == SCOPE and span.name.startswith("ai.")


def to_record(span: SpanIn) -> dict[str, Any] | None:
    operation_id = str(attr(span, OPERATION_ID) or span.name)
    provider_value, _, api = str(attr(span, MODEL_PROVIDER) or "").partition(".")
    record = new_record(span, NAME)
    if not operation_id.endswith(INNER_SUFFIXES):
        record[layers.LAYER_KEY] = layers.OUTER
    embeds = operation_id.startswith(EMBED_OPERATIONS)
    record.update(
        operation="embeddings" if embeds else OPERATION_OF_API.get(api, "chat"),
        request_model=attr(span, *REQUEST_MODEL),
        response_model=attr(span, *RESPONSE_MODEL),
        response_id=attr(span, *RESPONSE_ID),
        finish_reason=first_of(attr(span, *FINISH_REASON)),
        streaming=operation_id.startswith(STREAM_OPERATIONS),
        sdk="ai",
    )
    for column in TAG_COLUMNS:
        record[column] = record[column] or attr(span, METADATA_PREFIX + column)
    record["workflow"] = record["workflow"] or attr(span, FUNCTION_ID)
    set_usage(
        record,
        input_tokens=int_attr(span, *INPUT),
        output_tokens=int_attr(span, *OUTPUT),
        cache_read=int_attr(span, *CACHE_READ),
        cache_write=int_attr(span, *CACHE_WRITE),
        reasoning=int_attr(span, *REASONING),
    )
    ttft_ms(record, ms=float_attr(span, MS_TO_FIRST_CHUNK))
    set_route(record, provider_value=provider_value)
    gateway_facts(span, record)
    return record


def gateway_facts(span: SpanIn, record: dict[str, Any]) -> None:
    """What the Vercel AI Gateway reported: the upstream that served, the cost (under BYOK the market
    cost, marked), the generation id and the attempts."""
    facts = Facts()
    read_vercel_metadata({"providerMetadata": json_attr(span, PROVIDER_METADATA)}, facts)
    if facts.served_by:
        record["platform"] = platform_of(facts.served_by)
    if facts.reported_cost is not None:
        record.update(
            reported_cost_usd=format(facts.reported_cost, "f"),
            reported_cost_source=f"vercel.{facts.reported_cost_source}",
        )
    if facts.extras:
        record["attributes"].update(facts.extras)
