"""Gateway behaviour shared by the Vercel AI Gateway and OpenRouter mocks: fallback chains and metadata.

A gateway tries the requested model, then each fallback in order; models named in the `fail_models`
knob fail upstream. The served model answers; the metadata tells which upstream served it, which
attempts failed, and what the call cost. A Vercel request that brings its own provider credentials
(`providerOptions.gateway.byok`) is served with them: the gateway debits `cost` "0", `marketCost`
keeps the list price, the attempt's `credentialType` is `byok` and `usage.is_byok` is true.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from modelmeter.mock.answer import Ask, Routing
from modelmeter.mock.calls import MockUsage
from modelmeter.mock.pricing import list_cost
from modelmeter.mock.text import model_vendor

# model vendor -> the upstream provider slug a gateway reports
_VERCEL_UPSTREAM = {"google": "vertex", "meta": "groq", "deepseek": "deepinfra"}
_OPENROUTER_UPSTREAM = {
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "google": "Google",
    "meta": "Together",
    "mistral": "Mistral",
    "xai": "xAI",
    "deepseek": "DeepSeek",
    "cohere": "Cohere",
}


def fallback_chain(gateway: str, body: dict[str, Any], model: str | None) -> list[str]:
    """Models in the order the gateway tries them."""
    if gateway == "vercel":
        options = body.get("providerOptions") or body.get("provider_options") or {}
        extra = (options.get("gateway") or {}).get("models") or []
    else:
        extra = body.get("models") or []
    chain = [model] if model else []
    chain += [m for m in extra if isinstance(m, str) and m not in chain]
    return chain


def upstream_of(gateway: str, model: str) -> str:
    vendor = model_vendor(model)
    if gateway == "vercel":
        return _VERCEL_UPSTREAM.get(vendor, vendor)
    return _OPENROUTER_UPSTREAM.get(vendor, vendor.capitalize())


def route(gateway: str, chain: list[str], failing: set[str]) -> Routing | None:
    """The first model of the chain that does not fail, or None when all fail."""
    for position, model in enumerate(chain):
        if model not in failing:
            return Routing(gateway, chain[0], model, upstream_of(gateway, model), tuple(chain[:position]))
    return None


def reported_cost(ask: Ask, usage: MockUsage) -> Decimal:
    """What a client should report the call cost: the gateway's debit, or under BYOK the market
    cost the provider bills (never 0)."""
    return list_cost(ask.model, usage)


def is_byok(ask: Ask) -> bool:
    """The request brought its own provider credentials (Vercel's request-scoped BYOK)."""
    if ask.routing is None or ask.routing.gateway != "vercel":
        return False
    options = ask.body.get("providerOptions") or ask.body.get("provider_options") or {}
    gateway = options.get("gateway") if isinstance(options, dict) else None
    return isinstance(gateway, dict) and bool(gateway.get("byok"))


def vercel_gateway_metadata(ask: Ask, usage: MockUsage | None) -> dict[str, Any]:
    """`provider_metadata.gateway` as the Vercel AI Gateway reports it (routing, cost as decimal strings)."""
    routing = ask.routing
    assert routing is not None
    generation_id = ask.make_id("gen_01JMOCK", 19)
    now_ms = time.time() * 1000
    attempts: list[dict[str, Any]] = []
    model_attempts: list[dict[str, Any]] = []
    credential = "byok" if is_byok(ask) else "system"
    for model in (*routing.failed_models, routing.served_model):
        success = model == routing.served_model
        attempt: dict[str, Any] = {
            "provider": upstream_of("vercel", model),
            "internalModelId": model,
            "providerApiModelId": model.split("/", 1)[-1],
            "credentialType": credential,
            "success": success,
            "startTime": now_ms,
            "endTime": now_ms,
        }
        if not success:
            attempt["error"] = f"Provider returned 503 for {model}: Service Unavailable"
        attempts.append(attempt)
        model_attempts.append(
            {
                "modelId": model,
                "canonicalSlug": model,
                "success": success,
                "providerAttemptCount": 1,
                "providerAttempts": [attempt],
            }
        )
    metadata: dict[str, Any] = {
        "routing": {
            "originalModelId": routing.requested_model,
            "resolvedProvider": routing.served_by,
            "resolvedProviderApiModelId": routing.served_model.split("/", 1)[-1],
            "canonicalSlug": routing.served_model,
            "finalProvider": routing.served_by,
            "fallbacksAvailable": [],
            "attempts": attempts,
            "modelAttemptCount": len(model_attempts),
            "modelAttempts": model_attempts,
            "totalProviderAttemptCount": len(attempts),
        },
        "generationId": generation_id,
    }
    if usage is not None:
        cost = format(list_cost(ask.model, usage), "f")
        metadata["cost"] = "0" if credential == "byok" else cost
        metadata["marketCost"] = cost
    return metadata


def cost_fields(ask: Ask, usage: MockUsage) -> dict[str, Any]:
    """Cost fields a gateway adds to the OpenAI-style `usage` object."""
    byok = is_byok(ask)
    cost = Decimal(0) if byok else list_cost(ask.model, usage)
    fields: dict[str, Any] = {"cost": float(cost), "is_byok": byok}
    if ask.routing is not None and ask.routing.gateway == "openrouter":
        fields["cost_details"] = {
            "upstream_inference_cost": None,
            "upstream_inference_prompt_cost": 0,
            "upstream_inference_completions_cost": 0,
        }
    return fields
