"""The anthropic SDK's built-in tracing (scope `com.anthropic.sdk.python`, span `anthropic.messages.create`).

One span per API call, covering retries and the whole stream. Its `gen_ai.usage.input_tokens` already
includes cache reads and writes, and it writes cache writes under the next-semconv name.
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
    set_usage(
        record,
        input_tokens=int_attr(span, semconv.GEN_AI_USAGE_INPUT_TOKENS),
        output_tokens=int_attr(span, semconv.GEN_AI_USAGE_OUTPUT_TOKENS),
        cache_read=int_attr(span, semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS),
        cache_write=int_attr(
            span,
            semconv.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS,
            semconv.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
        ),
    )
    ttft_ms(record, seconds=float_attr(span, semconv.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK))
    set_route(
        record,
        provider_value=attr(span, semconv.GEN_AI_PROVIDER_NAME, semconv.GEN_AI_SYSTEM),
        url=attr(span, URL_FULL),
    )
    return record
