"""Pydantic Logfire's `instrument_openai` / `instrument_anthropic` (scopes `logfire.*`) and pydantic-ai.

Logfire names spans by message template (`Chat Completion with {request_data[model]!r}`). A non-streamed
call is one span with usage. A streamed call is a request span without usage plus, when the stream ends,
a sibling log `streaming response from ...` that carries usage and the stream's duration: the log is the
call and the request span maps to nothing, so the call is counted once. pydantic-ai (scope `pydantic-ai`,
recorded with that source name) writes plain GenAI `chat` spans under `invoke_agent` spans that repeat
the usage; only `chat` counts.
"""

from __future__ import annotations

from typing import Any

from modelmeter import semconv
from modelmeter.ingest.normalise import SpanIn
from modelmeter.ingest.normalise._common import (
    INFERENCE_OPERATIONS,
    attr,
    float_attr,
    int_attr,
    json_attr,
    new_record,
    set_route,
    set_usage,
    ttft_ms,
)

NAME = "logfire"
SCOPE_PREFIX = "logfire"
PYDANTIC_AI_SCOPE = "pydantic-ai"

MSG_TEMPLATE = "logfire.msg_template"
STREAM_LOG_TEMPLATE = "streaming response from"
STREAM_DURATION_SECONDS = "duration"
CACHE_WRITE = (
    semconv.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    semconv.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS,
    "gen_ai.usage.details.cache_write_tokens",
)
CACHE_READ = (semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, "gen_ai.usage.details.cache_read_tokens")
REASONING = (semconv.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, "gen_ai.usage.details.reasoning_tokens")
PYDANTIC_AI_TTFT_SECONDS = "gen_ai.client.operation.time_to_first_chunk"
# Logfire keeps the provider's own usage object; reasoning is only there.
RAW_USAGE = "gen_ai.usage.raw"
RAW_REASONING_PATHS = (
    ("completion_tokens_details", "reasoning_tokens"),  # chat completions
    ("output_tokens_details", "reasoning_tokens"),  # responses
)


def recognises(span: SpanIn) -> bool:
    return span.scope_name.startswith(SCOPE_PREFIX) or span.scope_name == PYDANTIC_AI_SCOPE


def to_record(span: SpanIn) -> dict[str, Any] | None:
    record = new_record(span, PYDANTIC_AI_SCOPE if span.scope_name == PYDANTIC_AI_SCOPE else NAME)
    if record["operation"] not in INFERENCE_OPERATIONS:
        return None
    template = str(attr(span, MSG_TEMPLATE) or "")
    is_stream_log = template.startswith(STREAM_LOG_TEMPLATE)
    if _is_stream_opener(span, record, is_stream_log):
        return None
    ttft_seconds = float_attr(span, PYDANTIC_AI_TTFT_SECONDS)
    record["streaming"] = is_stream_log or ttft_seconds is not None
    if is_stream_log:
        duration_s = float_attr(span, STREAM_DURATION_SECONDS)
        if duration_s is not None:
            record["start_ns"] = span.end_ns - int(duration_s * 1e9)
            record["duration_ms"] = duration_s * 1000.0
        if record["error_type"]:  # a stream that failed part-way: the log carries error.type
            record["status"] = "error"
    reasoning = int_attr(span, *REASONING)
    set_usage(
        record,
        input_tokens=int_attr(span, semconv.GEN_AI_USAGE_INPUT_TOKENS),
        output_tokens=int_attr(span, semconv.GEN_AI_USAGE_OUTPUT_TOKENS),
        cache_read=int_attr(span, *CACHE_READ),
        cache_write=int_attr(span, *CACHE_WRITE),
        reasoning=_raw_reasoning(span) if reasoning is None else reasoning,
    )
    ttft_ms(record, seconds=ttft_seconds)
    set_route(record, provider_value=attr(span, semconv.GEN_AI_PROVIDER_NAME, semconv.GEN_AI_SYSTEM))
    return record


def _is_stream_opener(span: SpanIn, record: dict[str, Any], is_stream_log: bool) -> bool:
    """A Logfire request span that opened a stream: no response, no usage, no error; its log is the call."""
    if span.scope_name == PYDANTIC_AI_SCOPE or is_stream_log or record["status"] == "error":
        return False
    return record["response_id"] is None and attr(span, semconv.GEN_AI_USAGE_INPUT_TOKENS) is None


def _raw_reasoning(span: SpanIn) -> int | None:
    raw = json_attr(span, RAW_USAGE)
    for details, key in RAW_REASONING_PATHS:
        value = (raw.get(details) or {}).get(key)
        if isinstance(value, int):
            return value
    return None
