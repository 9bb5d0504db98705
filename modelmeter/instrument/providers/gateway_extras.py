"""What gateways add on top of a vendor's wire format, read the same way whichever family carries it.

Vercel AI Gateway: `provider_metadata.gateway` (on a chat message or delta, or at the top level of
an Anthropic-shaped body) holds `cost` (decimal string, USD billed) and `routing` (the provider
that finally served, and every attempt). LiteLLM's proxy says the same in `x-litellm-*` response
headers. OpenRouter's fields are plain OpenAI-chat extras and live in `openai_chat`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from modelmeter.instrument.providers.base import Facts, as_str, dig


def read_vercel_metadata(gateway: Any, facts: Facts) -> None:
    if not isinstance(gateway, dict):
        return
    if "cost" in gateway:
        facts.report_cost(gateway.get("cost"), "provider_metadata.gateway.cost")
    routing = gateway.get("routing")
    if isinstance(routing, dict):
        facts.served_by = as_str(routing.get("finalProvider")) or facts.served_by
        attempts = routing.get("attempts")
        if isinstance(attempts, list):
            facts.gateway_attempts = [
                {k: a.get(k) for k in ("provider", "providerApiModelId", "success", "error") if k in a}
                for a in attempts
                if isinstance(a, dict)
            ]
    elif facts.response_id is None:
        facts.response_id = as_str(dig(gateway, "generationId"))


def read_litellm_headers(headers: Mapping[str, str], facts: Facts) -> None:
    """LiteLLM proxy response headers: billed cost and the upstream that served."""
    cost = headers.get("x-litellm-response-cost")
    if cost:
        facts.report_cost(cost, "x-litellm-response-cost")
    api_base = headers.get("x-litellm-model-api-base")
    if api_base and facts.served_by is None:
        facts.served_by = urlsplit(api_base).hostname or api_base
