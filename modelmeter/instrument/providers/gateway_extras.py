"""What gateways add on top of a vendor's wire format, read the same way whichever family carries it.

Vercel AI Gateway: `provider_metadata.gateway` (on a chat message or delta, at the top level of an
Anthropic Messages body or `message_delta`, on a Responses `response`; `providerMetadata` at the top
level of an embeddings body, as Vercel's embeddings page shows it) holds `cost` (decimal string, USD
the gateway debited), `marketCost` (list price), `generationId` (the key of the generation lookup)
and `routing` (the provider that finally served, and every attempt with its `credentialType`).
Under BYOK the team's own provider key served: the gateway debits `cost` "0" and the provider bills
the team, so the reported cost is the market cost, with the call marked BYOK and the gateway's own
debit kept apart. LiteLLM's proxy says its cost in `x-litellm-*` response headers. OpenRouter's
fields are plain OpenAI-chat extras and live in `openai_chat`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from modelmeter import semconv as sc
from modelmeter.instrument.providers.base import Facts, as_str, money

_ATTEMPT_KEYS = ("provider", "providerApiModelId", "credentialType", "success", "error")


def read_vercel_metadata(holder: Any, facts: Facts) -> None:
    """The gateway metadata of an object that may carry it (`provider_metadata` or `providerMetadata`)."""
    if not isinstance(holder, dict):
        return
    metadata = holder.get("provider_metadata") or holder.get("providerMetadata")
    gateway = metadata.get("gateway") if isinstance(metadata, dict) else None
    if not isinstance(gateway, dict):
        return
    facts.extra(sc.MM_GATEWAY_GENERATION_ID, as_str(gateway.get("generationId")))
    routing = gateway.get("routing")
    byok = False
    if isinstance(routing, dict):
        facts.served_by = as_str(routing.get("finalProvider")) or facts.served_by
        attempts = routing.get("attempts")
        if isinstance(attempts, list):
            facts.gateway_attempts = [
                {k: a.get(k) for k in _ATTEMPT_KEYS if k in a} for a in attempts if isinstance(a, dict)
            ]
            served = [a for a in attempts if isinstance(a, dict) and a.get("success") is True]
            byok = bool(served) and served[-1].get("credentialType") == "byok"
    facts.extra(sc.MM_GATEWAY_BILLED_USD, money(gateway.get("cost")))
    facts.extra(sc.MM_GATEWAY_MARKET_COST_USD, money(gateway.get("marketCost")))
    if byok:
        mark_byok(facts)
        facts.report_cost(gateway.get("marketCost"), "provider_metadata.gateway.marketCost")
    elif "cost" in gateway:
        facts.report_cost(gateway.get("cost"), "provider_metadata.gateway.cost")


def mark_byok(facts: Facts) -> None:
    """The team's own provider key served the call: the provider bills it, not the gateway."""
    facts.extra(sc.MM_GATEWAY_BYOK, True)


def read_litellm_headers(headers: Mapping[str, str], facts: Facts) -> None:
    """LiteLLM proxy response headers: billed cost and the upstream that served."""
    cost = headers.get("x-litellm-response-cost")
    if cost:
        facts.report_cost(cost, "x-litellm-response-cost")
    api_base = headers.get("x-litellm-model-api-base")
    if api_base and facts.served_by is None:
        facts.served_by = urlsplit(api_base).hostname or api_base
