"""OpenLLMetry (Traceloop's `opentelemetry-instrumentation-<vendor>` packages; spans `openai.chat`, ...).

It names the provider from the client's base URL, reports input tokens inclusive of cache, writes reasoning
under its own `gen_ai.usage.reasoning_tokens` (non-streamed calls only) and has no time-to-first-token on
the span. Older releases use `llm.*` and `gen_ai.usage.prompt_tokens` names: both dialects are read.
"""

from __future__ import annotations

from typing import Any

from modelmeter import semconv
from modelmeter.ingest.normalise import SpanIn
from modelmeter.ingest.normalise._common import (
    INFERENCE_OPERATIONS,
    attr,
    bool_attr,
    first_of,
    int_attr,
    new_record,
    set_route,
    set_usage,
)

NAME = "openllmetry"
SCOPE_PREFIX = "opentelemetry.instrumentation."
# The vendor packages of OpenLLMetry (contrib's own openai_v2 follows plain semconv and is not one of them).
PACKAGES = frozenset(
    {
        "openai",
        "anthropic",
        "bedrock",
        "cohere",
        "mistralai",
        "groq",
        "google_generativeai",
        "vertexai",
        "ollama",
        "together",
        "replicate",
        "watsonx",
        "sagemaker",
        "alephalpha",
        "writer",
    }
)

LEGACY_REQUEST_TYPE = "llm.request.type"
LEGACY_OPERATIONS = {"chat": "chat", "completion": "text_completion", "embedding": "embeddings"}
STREAMING = ("gen_ai.is_streaming", "llm.is_streaming", semconv.GEN_AI_REQUEST_STREAM)
INPUT = (semconv.GEN_AI_USAGE_INPUT_TOKENS, "gen_ai.usage.prompt_tokens")
OUTPUT = (semconv.GEN_AI_USAGE_OUTPUT_TOKENS, "gen_ai.usage.completion_tokens")
CACHE_READ = (semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, "gen_ai.usage.cache_read_input_tokens")
CACHE_WRITE = (semconv.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, "gen_ai.usage.cache_creation_input_tokens")
REASONING = (
    "gen_ai.usage.reasoning_tokens",
    semconv.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
    "llm.usage.reasoning_tokens",
)
FINISH = (
    semconv.GEN_AI_RESPONSE_FINISH_REASONS,
    "gen_ai.response.finish_reason",
    "llm.response.finish_reason",
)
API_BASE = "gen_ai.openai.api_base"
SERVICE_TIER = "openai.response.service_tier"


def recognises(span: SpanIn) -> bool:
    package = span.scope_name.removeprefix(SCOPE_PREFIX).split(".")[0]
    return span.scope_name.startswith(SCOPE_PREFIX) and package in PACKAGES


def to_record(span: SpanIn) -> dict[str, Any] | None:
    record = new_record(span, NAME)
    legacy = LEGACY_OPERATIONS.get(str(attr(span, LEGACY_REQUEST_TYPE)))
    record["operation"] = record["operation"] or legacy
    if record["operation"] not in INFERENCE_OPERATIONS:
        return None
    record.update(
        streaming=bool(bool_attr(span, *STREAMING)),
        finish_reason=first_of(attr(span, *FINISH)),
        service_tier=attr(span, SERVICE_TIER),
        sdk=span.scope_name.removeprefix(SCOPE_PREFIX).split(".")[0],
    )
    set_usage(
        record,
        input_tokens=int_attr(span, *INPUT),
        output_tokens=int_attr(span, *OUTPUT),
        cache_read=int_attr(span, *CACHE_READ),
        cache_write=int_attr(span, *CACHE_WRITE),
        reasoning=int_attr(span, *REASONING),
    )
    set_route(
        record,
        provider_value=attr(span, semconv.GEN_AI_PROVIDER_NAME, semconv.GEN_AI_SYSTEM),
        url=attr(span, API_BASE),
    )
    return record
