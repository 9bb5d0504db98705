"""OpenLIT (scope `openlit.otel.tracing`; span `{operation} {model}`).

Traps: on Anthropic spans `gen_ai.usage.input_tokens` is Anthropic's raw input, without cache reads and
writes, so they are added back here. OpenLIT's `gen_ai.server.time_to_first_token` is in seconds and
is set on non-streamed spans too (there it is the whole duration, and ignored). On streams it is the
time to the first chunk of any kind (OpenAI's role-only delta, Anthropic's `message_start`), which can
come before the first output token: it is the best the source offers, kept as `ttft_ms`.
`gen_ai.usage.cost` is OpenLIT's own price estimate, not a billed amount, so it stays in `attributes`.
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

NAME = "openlit"
SCOPE_PREFIX = "openlit"
TELEMETRY_SDK_NAME = "telemetry.sdk.name"

STREAMING = (semconv.GEN_AI_REQUEST_STREAM, "gen_ai.request.is_stream")
CACHE_READ = (
    semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    "gen_ai.usage.prompt_tokens_details.cached_tokens",
)
CACHE_WRITE = (
    semconv.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    semconv.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS,
    "gen_ai.usage.prompt_tokens_details.cache_creation_tokens",
)
REASONING = ("gen_ai.usage.reasoning_tokens", "gen_ai.usage.completion_tokens_details.reasoning_tokens")
TTFT_SECONDS = "gen_ai.server.time_to_first_token"
# Providers whose usage OpenLIT copies raw, with input that leaves cache out.
CACHE_EXCLUSIVE_PROVIDERS = frozenset({"anthropic"})


def recognises(span: SpanIn) -> bool:
    return span.scope_name.startswith(SCOPE_PREFIX) or span.attributes.get(TELEMETRY_SDK_NAME) == "openlit"


def to_record(span: SpanIn) -> dict[str, Any] | None:
    record = new_record(span, NAME)
    if record["operation"] not in INFERENCE_OPERATIONS:
        return None
    provider_value = attr(span, semconv.GEN_AI_PROVIDER_NAME, semconv.GEN_AI_SYSTEM)
    record.update(streaming=bool(bool_attr(span, *STREAMING)), sdk_version=attr(span, "gen_ai.sdk.version"))
    set_usage(
        record,
        input_tokens=int_attr(span, semconv.GEN_AI_USAGE_INPUT_TOKENS),
        output_tokens=int_attr(span, semconv.GEN_AI_USAGE_OUTPUT_TOKENS),
        cache_read=int_attr(span, *CACHE_READ),
        cache_write=int_attr(span, *CACHE_WRITE),
        reasoning=int_attr(span, *REASONING),
        input_includes_cache=str(provider_value).lower() not in CACHE_EXCLUSIVE_PROVIDERS,
    )
    ttft_ms(record, seconds=float_attr(span, TTFT_SECONDS))
    set_route(record, provider_value=provider_value)
    return record
