"""The anthropic SDK's built-in tracing (scope `com.anthropic.sdk.python`, span `anthropic.messages.create`).

One span per API call, covering retries and the whole stream. Its `gen_ai.usage.input_tokens` already
includes cache reads and writes, and it writes cache writes under the next-semconv name. Thinking is
`gen_ai.usage.reasoning.output_tokens`. Context compaction is billed but left out of the `gen_ai`
usage: the SDK writes the compaction steps' tokens apart (`anthropic.usage.compaction.*`, input with
their cache reads and writes), so the call's usage is their sum, with the share kept as ours.
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

NAME = "anthropic-sdk"
SCOPE_PREFIX = "com.anthropic.sdk"

REQUEST_ID = "anthropic.request.id"
STOP_REASON = "anthropic.message.stop_reason"
SERVICE_TIER = "anthropic.response.service_tier"
URL_FULL = "url.full"
COMPACTION_INPUT = "anthropic.usage.compaction.input_tokens"
COMPACTION_OUTPUT = "anthropic.usage.compaction.output_tokens"


def recognises(span: SpanIn) -> bool:
    return span.scope_name.startswith(SCOPE_PREFIX)


def to_record(span: SpanIn) -> dict[str, Any] | None:
    record = new_record(span, NAME)
    record["operation"] = record["operation"] or "chat"
    if record["operation"] not in INFERENCE_OPERATIONS:
        return None
    record.update(
        streaming=bool(bool_attr(span, semconv.GEN_AI_REQUEST_STREAM)),
        request_id=attr(span, REQUEST_ID),
        finish_reason=record["finish_reason"] or attr(span, STOP_REASON),
        service_tier=attr(span, SERVICE_TIER),
        sdk="anthropic",
        sdk_version=span.scope_version,
    )
    input_tokens = int_attr(span, semconv.GEN_AI_USAGE_INPUT_TOKENS)
    output_tokens = int_attr(span, semconv.GEN_AI_USAGE_OUTPUT_TOKENS)
    compaction_in, compaction_out = int_attr(span, COMPACTION_INPUT), int_attr(span, COMPACTION_OUTPUT)
    if compaction_in is not None or compaction_out is not None:
        record["attributes"].update(
            {
                semconv.MM_COMPACTION_INPUT_TOKENS: compaction_in or 0,
                semconv.MM_COMPACTION_OUTPUT_TOKENS: compaction_out or 0,
            }
        )
        if input_tokens is not None:
            input_tokens += compaction_in or 0
        if output_tokens is not None:
            output_tokens += compaction_out or 0
    set_usage(
        record,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read=int_attr(span, semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS),
        cache_write=int_attr(
            span,
            semconv.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS,
            semconv.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
        ),
        reasoning=int_attr(span, semconv.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS),
    )
    ttft_ms(record, seconds=float_attr(span, semconv.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK))
    set_route(
        record,
        provider_value=attr(span, semconv.GEN_AI_PROVIDER_NAME, semconv.GEN_AI_SYSTEM),
        url=attr(span, URL_FULL),
    )
    return record
