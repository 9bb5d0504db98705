"""The Vercel AI SDK's newer tracer, `@ai-sdk/otel` (scope `gen_ai`): the GenAI conventions plus `ai.*`.

Spans per call: an `invoke_agent {model}` root with usage summed over steps (not a call), a
`step N` span, and one CLIENT span `chat {model}` per provider call carrying `gen_ai.*` usage. An
embedding is an `embeddings {model}` root with one `embeddings {model}` child per provider call,
both CLIENT and both with usage, so every embeddings span is marked as a wrapper: the root yields
to its children (`layers.py`), a lone one stays. The provider is the AI SDK's id, `gateway` for the
Vercel AI Gateway, and with `providerMetadata: true` the response span carries
`ai.response.providerMetadata` under the legacy tracer's name, read the same way.
"""

from __future__ import annotations

from typing import Any

from modelmeter import semconv
from modelmeter.ingest.normalise import SpanIn, genai, layers
from modelmeter.ingest.normalise._common import attr
from modelmeter.ingest.normalise.vercel_ai_sdk import gateway_facts

NAME = "ai-sdk-otel"
SCOPE = "gen_ai"


def recognises(span: SpanIn) -> bool:
    return span.scope_name == SCOPE and semconv.GEN_AI_PROVIDER_NAME in span.attributes


def to_record(span: SpanIn) -> dict[str, Any] | None:
    record = genai.to_record(span)
    if record is None:
        return None
    record.update(source=NAME, sdk="ai")
    if record["operation"] == "embeddings":
        record[layers.LAYER_KEY] = layers.OUTER
    if attr(span, "ai.response.providerMetadata") is not None:
        gateway_facts(span, record)
    return record
