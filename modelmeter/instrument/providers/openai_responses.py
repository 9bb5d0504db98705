"""OpenAI Responses API (`POST /v1/responses`): named SSE events, usage on the final response.

Usage: `input_tokens` includes cached reads and writes, `output_tokens` includes reasoning. The
finish reason is the response `status` as sent (completed | incomplete | failed), like every family
keeps its vendor's own word; `failed` also sets the error. Streams end with
`response.completed|incomplete|failed` or a bare `error` event; there is no `[DONE]`. Through the
Vercel AI Gateway the final response carries `provider_metadata.gateway` (cost, routing, generation
id), in the JSON body and in `response.completed` alike.
"""

from __future__ import annotations

from typing import Any

from modelmeter.instrument.providers.base import (
    Facts,
    WireFamily,
    as_str,
    dig,
    error_type_of,
    event_type,
    loads,
)
from modelmeter.instrument.providers.gateway_extras import read_vercel_metadata

_TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed", "error"})
_DECODED = _TERMINAL | {"response.created"}
_OUTPUT_EVENTS = frozenset(
    {
        "response.output_text.delta",
        "response.function_call_arguments.delta",
        "response.refusal.delta",
        "response.reasoning_summary_text.delta",
        "response.reasoning_text.delta",
    }
)


class OpenAIResponses(WireFamily):
    NAME = "openai.responses"
    OPERATION = "responses"
    SKIM = (b"response.completed", b"response.incomplete", b"response.failed", b'"error"', b"event: error")

    def matches(self, path: str) -> bool:
        return path.endswith("/responses")

    def read_json(self, doc: Any, facts: Facts) -> None:
        if isinstance(doc, dict):
            if "object" not in doc and isinstance(doc.get("error"), dict):
                facts.error_type = error_type_of(doc["error"])
                return
            read_response(doc, facts)

    def read_event(self, event: str | None, data: bytes, facts: Facts) -> bool:
        if event is None:
            event = event_type(data)
        if event in _OUTPUT_EVENTS:
            if facts.output_parts is not None and event == "response.output_text.delta":
                facts.capture(dig(loads(data), "delta"))
            return True
        if event not in _DECODED:
            return False
        doc = loads(data)
        if event == "error":
            facts.error_type = error_type_of(doc.get("error", doc) if isinstance(doc, dict) else doc)
        elif isinstance(doc, dict) and isinstance(doc.get("response"), dict):
            read_response(doc["response"], facts, final=event in _TERMINAL)
        if event in _TERMINAL:
            facts.terminal = True
        return False


def read_response(response: dict[str, Any], facts: Facts, *, final: bool = True) -> None:
    facts.response_model = as_str(response.get("model")) or facts.response_model
    facts.response_id = as_str(response.get("id")) or facts.response_id
    facts.service_tier = as_str(response.get("service_tier")) or facts.service_tier
    usage = response.get("usage")
    if isinstance(usage, dict):
        facts.set_usage(
            usage.get("input_tokens"),
            usage.get("output_tokens"),
            cache_read=dig(usage, "input_tokens_details", "cached_tokens"),
            cache_write=dig(usage, "input_tokens_details", "cache_write_tokens"),
            reasoning=dig(usage, "output_tokens_details", "reasoning_tokens"),
        )
    if not final:
        return
    read_vercel_metadata(response, facts)
    status = as_str(response.get("status"))
    if status:
        facts.finish_reason = status
    if status == "failed":
        facts.error_type = error_type_of(response.get("error"))
    if facts.output_parts is not None and not facts.output_parts:
        for item in response.get("output") or ():
            for part in (item.get("content") or ()) if isinstance(item, dict) else ():
                if isinstance(part, dict):
                    facts.capture(part.get("text"))


FAMILY = OpenAIResponses()
