"""Spans that follow the plain OpenTelemetry GenAI conventions, current names and deprecated ones.

The fallback source: any instrumentation we have no dedicated mapping for, as long as it speaks the
conventions (`gen_ai.provider.name` or the older `gen_ai.system`, `gen_ai.usage.*` or the older
`prompt_tokens` / `completion_tokens`). Only inference spans are calls; agent, tool and workflow spans
repeat their children's usage and are ignored.
"""

from __future__ import annotations

from typing import Any

from modelmeter import semconv
from modelmeter.ingest.normalise import SpanIn
from modelmeter.ingest.normalise._common import (
    INFERENCE_OPERATIONS,
    attr,
    bool_attr,
    float_attr,
    int_attr,
    new_record,
    set_route,
    set_usage,
    ttft_ms,
)

NAME = "otel-genai"

# Deprecated or alternative names still written by older releases (semconv <= 1.27, OpenLLMetry 0.x).
PROMPT_TOKENS = "gen_ai.usage.prompt_tokens"
COMPLETION_TOKENS = "gen_ai.usage.completion_tokens"
CACHE_READ_ALT = "gen_ai.usage.cache_read_input_tokens"
CACHE_CREATION_ALT = "gen_ai.usage.cache_creation_input_tokens"
REASONING_ALT = "gen_ai.usage.reasoning_tokens"
IS_STREAMING = "gen_ai.is_streaming"
TTFT_CLIENT_METRIC_NAME = "gen_ai.client.operation.time_to_first_chunk"
TTFT_SERVER = "gen_ai.server.time_to_first_token"
OPENAI_RESPONSE_SERVICE_TIER = "openai.response.service_tier"


def recognises(span: SpanIn) -> bool:
    attributes = span.attributes
    has_provider = semconv.GEN_AI_PROVIDER_NAME in attributes or semconv.GEN_AI_SYSTEM in attributes
    return has_provider and (
        semconv.GEN_AI_OPERATION_NAME in attributes or semconv.GEN_AI_REQUEST_MODEL in attributes
    )


def to_record(span: SpanIn) -> dict[str, Any] | None:
    record = new_record(span, NAME)
    record["operation"] = record["operation"] or "chat"
    if record["operation"] not in INFERENCE_OPERATIONS:
        return None
    record.update(
        streaming=bool(bool_attr(span, semconv.GEN_AI_REQUEST_STREAM, IS_STREAMING)),
        service_tier=attr(span, OPENAI_RESPONSE_SERVICE_TIER),
    )
    set_usage(
        record,
        input_tokens=int_attr(span, semconv.GEN_AI_USAGE_INPUT_TOKENS, PROMPT_TOKENS),
        output_tokens=int_attr(span, semconv.GEN_AI_USAGE_OUTPUT_TOKENS, COMPLETION_TOKENS),
        cache_read=int_attr(span, semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, CACHE_READ_ALT),
        cache_write=int_attr(
            span,
            semconv.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS,
            semconv.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
            CACHE_CREATION_ALT,
        ),
        reasoning=int_attr(span, semconv.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, REASONING_ALT),
    )
    ttft_ms(
        record,
        seconds=float_attr(
            span, semconv.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, TTFT_CLIENT_METRIC_NAME, TTFT_SERVER
        ),
    )
    set_route(record, provider_value=attr(span, semconv.GEN_AI_PROVIDER_NAME, semconv.GEN_AI_SYSTEM))
    return record
