"""Anthropic Messages (`POST /v1/messages`), direct or through a gateway that speaks it.

Anthropic's `input_tokens` counts only uncached input: the inclusive input is input + cache reads
+ cache writes. `output_tokens_details.thinking_tokens` is the thinking share of `output_tokens`.
A request that sampled several times (context compaction, server-tool loops) lists each step in
`usage.iterations[]`; a compaction step's tokens are billed but left out of the top-level fields, so
the call's usage is the sum over the steps, and each step is kept (`modelmeter.usage.steps`).
`server_tool_use` counts requests billed per request (web search), kept as counts and fees.
Streams: `message_start` holds model, id and input usage; `message_delta` holds the cumulative
output count, thinking, server-tool counts and iterations (and may repeat input and cache counts: a
non-null value there wins); `content_block_delta` is output; `message_stop` ends; `event: error` is
an error after the 200.
"""

from __future__ import annotations

from typing import Any

import orjson

from modelmeter import semconv as sc
from modelmeter.instrument.providers.base import Facts, WireFamily, as_int, as_str, dig, error_type_of, loads
from modelmeter.instrument.providers.gateway_extras import read_vercel_metadata

_DECODED = frozenset({"message_start", "message_delta", "error"})


class AnthropicMessages(WireFamily):
    NAME = "anthropic.messages"
    OPERATION = "chat"
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
        read_vercel_metadata(doc, facts)
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
            read_vercel_metadata(doc, facts)
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


# server-tool count -> the genai-prices usage key that prices it (others are fees it cannot price)
_FEE_KEYS = {"web_search_requests": "web_searches"}


def _merge_usage(usage: dict[str, Any], facts: Facts) -> None:
    """Lay non-null wire counts over what is known, then rebuild the inclusive input."""
    _read_extras(usage, facts)
    if facts.extras is not None and sc.MM_USAGE_STEPS in facts.extras:
        return  # the steps' sum is the usage; a later top-level count describes one step only
    steps = usage.get("iterations")
    if isinstance(steps, list) and steps:
        _sum_steps(steps, facts)
        return
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


def _read_extras(usage: dict[str, Any], facts: Facts) -> None:
    """Thinking tokens (0 when not reported apart) and server-tool request counts."""
    thinking = as_int(dig(usage, "output_tokens_details", "thinking_tokens"))
    if thinking is not None:
        facts.reasoning_tokens = thinking
    elif facts.reasoning_tokens is None:
        facts.reasoning_tokens = 0
    tools = usage.get("server_tool_use")
    if isinstance(tools, dict):
        for key, value in tools.items():
            name, count = str(key), as_int(value)
            if count is None:
                continue
            facts.extra(sc.MM_SERVER_TOOL_PREFIX + name, count)
            if count:
                if facts.fees is None:
                    facts.fees = {}
                facts.fees[_FEE_KEYS.get(name, name)] = count


def _sum_steps(steps: list[Any], facts: Facts) -> None:
    """The call's usage as the sum over its sampling steps; each step and the compaction share kept."""
    kept: list[dict[str, Any]] = []
    for step in steps:
        if not isinstance(step, dict):
            continue
        read = as_int(step.get("cache_read_input_tokens")) or 0
        write = as_int(step.get("cache_creation_input_tokens")) or 0
        kept.append(
            {
                "type": as_str(step.get("type")) or "message",
                "input_tokens": (as_int(step.get("input_tokens")) or 0) + read + write,
                "output_tokens": as_int(step.get("output_tokens")) or 0,
                "cache_read_tokens": read,
                "cache_write_tokens": write,
                **({"model": step["model"]} if as_str(step.get("model")) else {}),
            }
        )
    if not kept:
        return
    facts.input_tokens = sum(k["input_tokens"] for k in kept)
    facts.output_tokens = sum(k["output_tokens"] for k in kept)
    facts.cache_read_tokens = sum(k["cache_read_tokens"] for k in kept)
    facts.cache_write_tokens = sum(k["cache_write_tokens"] for k in kept)
    facts.extra(sc.MM_USAGE_STEPS, orjson.dumps(kept).decode())
    compactions = [k for k in kept if k["type"] == "compaction"]
    if compactions:
        read, write, output = (
            sum(k[key] for k in compactions)
            for key in ("cache_read_tokens", "cache_write_tokens", "output_tokens")
        )
        facts.compaction = (sum(k["input_tokens"] for k in compactions), read, write, output)
        facts.extra(sc.MM_COMPACTION_INPUT_TOKENS, facts.compaction[0])
        facts.extra(sc.MM_COMPACTION_OUTPUT_TOKENS, facts.compaction[3])


FAMILY = AnthropicMessages()
