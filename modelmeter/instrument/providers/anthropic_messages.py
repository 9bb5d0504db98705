"""Anthropic Messages (`POST /v1/messages`), direct or through a gateway that speaks it.

Anthropic's `input_tokens` counts only uncached input: the inclusive input is input + cache reads
+ cache writes. Streams: `message_start` holds model, id and input usage; `message_delta` holds the
cumulative output count (and may repeat input and cache counts: a non-null value there wins);
`content_block_delta` is output; `message_stop` ends; `event: error` is an error after the 200.
"""

from __future__ import annotations

from typing import Any

from modelmeter.instrument.providers.base import Facts, WireFamily, as_int, as_str, dig, error_type_of, loads
from modelmeter.instrument.providers.gateway_extras import read_vercel_metadata

_DECODED = frozenset({"message_start", "message_delta", "error"})


class AnthropicMessages(WireFamily):
    NAME = "anthropic.messages"
    OPERATION = "chat"
    TERMINAL_EVENTS = frozenset({"message_stop", "error"})
    SKIM = (b"message_delta", b"message_stop", b'"error"')

    def matches(self, path: str) -> bool:
        return (
            path.endswith("/v1/messages")
            or path.endswith(":rawPredict")
            or path.endswith(":streamRawPredict")
        )

    def streaming(self, path: str, body: dict[str, Any] | None) -> bool:
        return path.endswith(":streamRawPredict") or super().streaming(path, body)

    def read_json(self, doc: Any, facts: Facts) -> None:
        if not isinstance(doc, dict):
            return
        if doc.get("type") == "error" or "error" in doc:
            facts.error_type = error_type_of(doc.get("error"))
            return
        self._read_message(doc, facts)
        facts.finish_reason = as_str(doc.get("stop_reason")) or facts.finish_reason
        read_vercel_metadata(dig(doc, "provider_metadata", "gateway"), facts)
        if facts.output_parts is not None:
            for block in doc.get("content") or ():
                if isinstance(block, dict):
                    facts.capture(block.get("text"))

    def read_event(self, event: str | None, data: bytes, facts: Facts) -> bool:
        if event == "content_block_delta":
            if facts.output_parts is not None:
                facts.capture(dig(loads(data), "delta", "text"))
            return True
        if event == "message_stop":
            facts.terminal = True
            return False
        if event not in _DECODED:
            return False
        doc = loads(data)
        if not isinstance(doc, dict):
            return False
        if event == "message_start":
            message = doc.get("message")
            if isinstance(message, dict):
                self._read_message(message, facts)
        elif event == "message_delta":
            facts.finish_reason = as_str(dig(doc, "delta", "stop_reason")) or facts.finish_reason
            usage = doc.get("usage")
            if isinstance(usage, dict):
                _merge_usage(usage, facts)
            read_vercel_metadata(dig(doc, "provider_metadata", "gateway"), facts)
        else:
            facts.error_type = error_type_of(doc.get("error"))
            facts.terminal = True
        return False

    def _read_message(self, message: dict[str, Any], facts: Facts) -> None:
        facts.response_model = as_str(message.get("model")) or facts.response_model
        facts.response_id = as_str(message.get("id")) or facts.response_id
        usage = message.get("usage")
        if isinstance(usage, dict):
            facts.service_tier = as_str(usage.get("service_tier")) or facts.service_tier
            _merge_usage(usage, facts)


def _merge_usage(usage: dict[str, Any], facts: Facts) -> None:
    """Lay non-null wire counts over what is known, then rebuild the inclusive input."""
    uncached = as_int(usage.get("input_tokens"))
    read = as_int(usage.get("cache_read_input_tokens"))
    write = as_int(usage.get("cache_creation_input_tokens"))
    output = as_int(usage.get("output_tokens"))
    if read is not None:
        facts.cache_read_tokens = read
    if write is not None:
        facts.cache_write_tokens = write
    if facts.cache_read_tokens is None:
        facts.cache_read_tokens = 0
    if facts.cache_write_tokens is None:
        facts.cache_write_tokens = 0
    if uncached is not None:
        facts.input_tokens = uncached + facts.cache_read_tokens + facts.cache_write_tokens
    if output is not None:
        facts.output_tokens = output
    facts.reasoning_tokens = 0  # thinking is inside output_tokens and not reported apart


FAMILY = AnthropicMessages()
