"""Cohere v2 chat (`POST /v2/chat`) and embed (`POST /v2/embed`).

Usage sits in `usage.billed_units` (what is billed) and `usage.tokens` (what the model processed,
template tokens included); we report the billed units, which prices apply to, else `tokens`.
Streams are named events: `message-start` (id), `content-delta` (output), `message-end` (finish
reason and usage; the terminal event). The response names no model, so none is reported.
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

_DECODED = frozenset({"message-start", "message-end"})


class CohereV2(WireFamily):
    NAME = "cohere.v2"
    OPERATION = "chat"
    SKIM = (b"message-end",)

    def matches(self, path: str) -> bool:
        return path.endswith(("/v2/chat", "/v2/embed"))

    def operation(self, path: str) -> str:
        return "embeddings" if path.endswith("/v2/embed") else self.OPERATION

    def read_json(self, doc: Any, facts: Facts) -> None:
        if not isinstance(doc, dict):
            return
        if "message" in doc and "id" not in doc and not isinstance(doc.get("message"), dict):
            facts.error_type = error_type_of(doc.get("type") or "error")
            return
        facts.response_id = as_str(doc.get("id")) or facts.response_id
        facts.finish_reason = as_str(doc.get("finish_reason")) or facts.finish_reason
        if doc.get("finish_reason") == "ERROR":
            facts.error_type = "ERROR"
        _read_usage(doc.get("usage") or dig(doc, "meta"), facts)
        if facts.output_parts is not None:
            for part in dig(doc, "message", "content") or ():
                if isinstance(part, dict):
                    facts.capture(part.get("text"))

    def read_event(self, event: str | None, data: bytes, facts: Facts) -> bool:
        if event is None:
            event = event_type(data)
        if event == "content-delta" or event == "tool-call-start":
            if facts.output_parts is not None:
                facts.capture(dig(loads(data), "delta", "message", "content", "text"))
            return True
        if event not in _DECODED:
            return False
        doc = loads(data)
        if not isinstance(doc, dict):
            return False
        facts.response_id = as_str(doc.get("id")) or facts.response_id
        if event == "message-end":
            facts.terminal = True
            delta = doc.get("delta") or {}
            facts.finish_reason = as_str(delta.get("finish_reason")) or facts.finish_reason
            if delta.get("finish_reason") == "ERROR" or delta.get("error"):
                facts.error_type = error_type_of(delta.get("error") or "ERROR")
            _read_usage(delta.get("usage"), facts)
        return False


def _read_usage(usage: Any, facts: Facts) -> None:
    if not isinstance(usage, dict):
        return
    counts = usage.get("billed_units") or usage.get("tokens")
    if isinstance(counts, dict):
        facts.set_usage(counts.get("input_tokens"), counts.get("output_tokens", 0))


FAMILY = CohereV2()
