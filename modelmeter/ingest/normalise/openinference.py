"""Arize OpenInference (`openinference.span.kind`, `llm.*` attributes), as Phoenix instrumentors write.

Only LLM and EMBEDDING spans are calls (CHAIN, AGENT, TOOL... wrap them). The requested model sits in
`llm.invocation_parameters` (a JSON string) unless the newer `llm.request.model_name` is set; `llm.model_name`
is the answering model. No endpoint and no time to first token are recorded.
"""

from __future__ import annotations

from typing import Any

from modelmeter.ingest.normalise import SpanIn
from modelmeter.ingest.normalise._common import (
    attr,
    int_attr,
    json_attr,
    new_record,
    set_route,
    set_usage,
)

NAME = "openinference"
SPAN_KIND = "openinference.span.kind"
OPERATION_OF_KIND = {"LLM": "chat", "EMBEDDING": "embeddings"}

INVOCATION_PARAMETERS = "llm.invocation_parameters"
REQUEST_MODEL = "llm.request.model_name"
RESPONSE_MODEL = ("llm.response.model_name", "llm.model_name")
PROVIDER = ("llm.provider", "llm.system")
INPUT = "llm.token_count.prompt"
OUTPUT = "llm.token_count.completion"
CACHE_READ = "llm.token_count.prompt_details.cache_read"
CACHE_WRITE = "llm.token_count.prompt_details.cache_write"
REASONING = "llm.token_count.completion_details.reasoning"
FINISH_REASON = "llm.finish_reason"


def recognises(span: SpanIn) -> bool:
    return SPAN_KIND in span.attributes


def to_record(span: SpanIn) -> dict[str, Any] | None:
    operation = OPERATION_OF_KIND.get(str(span.attributes.get(SPAN_KIND)).upper())
    if operation is None:
        return None
    parameters = json_attr(span, INVOCATION_PARAMETERS)
    record = new_record(span, NAME)
    record.update(
        operation=operation,
        request_model=attr(span, REQUEST_MODEL) or parameters.get("model") or attr(span, *RESPONSE_MODEL),
        response_model=attr(span, *RESPONSE_MODEL),
        streaming=bool(parameters.get("stream")),
        finish_reason=attr(span, FINISH_REASON),
    )
    set_usage(
        record,
        input_tokens=int_attr(span, INPUT),
        output_tokens=int_attr(span, OUTPUT),
        cache_read=int_attr(span, CACHE_READ),
        cache_write=int_attr(span, CACHE_WRITE),
        reasoning=int_attr(span, REASONING),
    )
    set_route(record, provider_value=attr(span, *PROVIDER))
    return record
