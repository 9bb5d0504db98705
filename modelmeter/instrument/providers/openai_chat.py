"""OpenAI Chat Completions and every vendor or gateway that speaks it (`data: {chunk}` ... `[DONE]`).

Usage: `prompt_tokens` already includes cached input and `completion_tokens` includes reasoning.
Streams carry usage only in one chunk (with `include_usage`, Mistral's finish chunk, Groq's
`x_groq.usage`), so a chunk is decoded only when its bytes show something we do not know yet.
Gateway extras read here: OpenRouter's top-level `provider` and `usage.cost`, and errors inside a
200 (`finish_reason: "error"`); Vercel's `provider_metadata.gateway` (cost, routing). Under BYOK
(`usage.is_byok`) `usage.cost` is only the gateway's own fee: the provider bills the team the
upstream cost (OpenRouter's `cost_details.upstream_inference_cost`), so the reported cost is their
sum; Vercel's market cost comes from its metadata instead.
"""

from __future__ import annotations

import re
from typing import Any

from modelmeter import semconv as sc
from modelmeter import vendors
from modelmeter.instrument.providers.base import (
    Facts,
    WireFamily,
    as_decimal,
    as_str,
    dig,
    error_type_of,
    loads,
    money,
)
from modelmeter.instrument.providers.gateway_extras import mark_byok, read_vercel_metadata

_DONE = b"[DONE]"
# model output (a non-empty text or a tool call): looked for only until the first one ...
_OUTPUT = re.compile(rb'"(?:content|reasoning_content|reasoning)"\s*:\s*"[^"]|"tool_calls"\s*:\s*\[')
# ... and anything a chunk can tell beyond that: usage, a finish reason, an error, gateway metadata
# (literal probes: `in` / `bytes.find` beat a regex alternation several times over)
_VENDOR_NEWS = (b'"usage":{', b'"usage": {', b'"finish_reason":"', b'"finish_reason": "', b'"error"')
_GROQ_NEWS = (b'"x_groq"',)  # Groq's usage, served directly or passed through a gateway
_GATEWAY_NEWS = (b'"provider_metadata"', b'"providerMetadata"')  # Vercel's gateway metadata
_NEWS = _VENDOR_NEWS + _GROQ_NEWS + _GATEWAY_NEWS
_EMPTY: dict[str, Any] = {}


class OpenAIChat(WireFamily):
    NAME = "openai.chat"
    OPERATION = "chat"
    SKIM = (*_NEWS, b"[DONE]")
    _SKIM_VENDOR = (*_VENDOR_NEWS, b"[DONE]")
    _SKIM_GROQ = (*_VENDOR_NEWS, *_GROQ_NEWS, b"[DONE]")

    def skim_probes(self, kind: str | None) -> tuple[bytes, ...] | None:
        """A vendor's own API never sends another's extras: Groq's `x_groq` comes from Groq only,
        Vercel's `provider_metadata` from a gateway only (unknown hosts may be either)."""
        if kind == "groq":
            return self._SKIM_GROQ
        if kind in vendors.APIS:
            return self._SKIM_VENDOR
        return self.SKIM

    def matches(self, path: str) -> bool:
        return path.endswith("/chat/completions")

    def request_model(self, path: str, body: dict[str, Any] | None) -> str | None:
        """The body's model, else an Azure deployment name (`/openai/deployments/{name}/...`)."""
        model = super().request_model(path, body)
        if model is None and "/deployments/" in path:
            model = path.partition("/deployments/")[2].partition("/")[0] or None
        return model

    def read_json(self, doc: Any, facts: Facts) -> None:
        if not isinstance(doc, dict):
            return
        self._read_chunk(doc, facts)
        choices = doc.get("choices")
        message = (
            choices[0].get("message")
            if isinstance(choices, list) and choices and isinstance(choices[0], dict)
            else None
        )
        if isinstance(message, dict):
            read_vercel_metadata(message, facts)
            facts.capture(message.get("content"))

    def read_event(self, event: str | None, data: bytes, facts: Facts) -> bool:
        if data == _DONE:
            facts.terminal = True
            return False
        output = facts.wants_output and _OUTPUT.search(data) is not None
        if facts.response_model is None or _has_news(data) or (output and facts.output_parts is not None):
            doc = loads(data)
            if isinstance(doc, dict):
                self._read_chunk(doc, facts)
                choices = doc.get("choices")
                delta = choices[0].get("delta") if isinstance(choices, list) and choices else None
                if isinstance(delta, dict):
                    read_vercel_metadata(delta, facts)
                    facts.capture(delta.get("content"))
        return output

    def _read_chunk(self, doc: dict[str, Any], facts: Facts) -> None:
        facts.response_model = as_str(doc.get("model")) or facts.response_model
        facts.response_id = as_str(doc.get("id")) or facts.response_id
        facts.service_tier = as_str(doc.get("service_tier")) or facts.service_tier
        facts.served_by = as_str(doc.get("provider")) or facts.served_by  # OpenRouter
        choices = doc.get("choices")
        choice = choices[0] if isinstance(choices, list) and choices else None
        if isinstance(choice, dict):
            finish = as_str(choice.get("finish_reason"))
            if finish:
                facts.finish_reason = finish
            if finish == "error" or choice.get("error"):
                facts.error_type = error_type_of(choice.get("error") or doc.get("error"))
        if doc.get("error") is not None:
            facts.error_type = error_type_of(doc["error"])
        usage = doc.get("usage")
        if not isinstance(usage, dict) and "x_groq" in doc:
            usage = dig(doc, "x_groq", "usage")
        if isinstance(usage, dict):
            read_usage(usage, facts)
            if "cost" in usage:
                _usage_cost(usage, facts)
        read_vercel_metadata(doc, facts)


def _has_news(data: bytes) -> bool:
    """Whether a chunk may say something beyond its text (`map` of a C method: no generator frame)."""
    return any(map(data.__contains__, _NEWS))


def _usage_cost(usage: dict[str, Any], facts: Facts) -> None:
    """A gateway's `usage.cost`; under BYOK plus the upstream cost the provider bills, when given."""
    if usage.get("is_byok") is not True:
        facts.report_cost(usage.get("cost"), "usage.cost")
        return
    mark_byok(facts)
    fee = as_decimal(usage.get("cost"))
    facts.extra(sc.MM_GATEWAY_BILLED_USD, money(fee))
    upstream = as_decimal(dig(usage, "cost_details", "upstream_inference_cost"))
    if upstream is not None:
        facts.report_cost((fee or 0) + upstream, "usage.cost+cost_details.upstream_inference_cost")


def read_usage(usage: dict[str, Any], facts: Facts) -> None:
    """The OpenAI `CompletionUsage` shape (and its DeepSeek / OpenRouter additions)."""
    prompt_details = usage.get("prompt_tokens_details") or _EMPTY
    completion_details = usage.get("completion_tokens_details") or _EMPTY
    cached = prompt_details.get("cached_tokens")
    if cached is None:
        cached = usage.get("prompt_cache_hit_tokens")  # DeepSeek
    facts.service_tier = facts.service_tier or as_str(usage.get("service_tier"))  # Mistral
    facts.set_usage(
        usage.get("prompt_tokens"),
        usage.get("completion_tokens", 0),
        cache_read=cached,
        cache_write=prompt_details.get("cache_write_tokens"),
        reasoning=completion_details.get("reasoning_tokens"),
    )


FAMILY = OpenAIChat()
