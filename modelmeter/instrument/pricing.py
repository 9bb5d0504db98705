"""The shim's cost estimate: the pricing core's (`modelmeter.pricing.estimate`), keyed like a record.

A span says what its call cost to whoever reads it (an OTel backend, the spool). Ingest prices the
record again with the same core, adding the overrides of prices.toml, so without an override the two
agree to the last digit.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from modelmeter import pricing
from modelmeter import semconv as sc


def estimate_call(attributes: Mapping[str, Any], start_ns: int) -> Decimal | None:
    """USD for a call from its span attributes (key and usage as its record has them); None: unpriced."""
    get = attributes.get
    key = pricing.PriceKey(
        get(sc.MM_PROVIDER) or "",
        get(sc.MM_PLATFORM) or "",
        get(sc.MM_GATEWAY) or "",
        get(sc.GEN_AI_REQUEST_MODEL) or "",
        get(sc.GEN_AI_RESPONSE_MODEL) or "",
        get(sc.MM_SERVICE_TIER) or "",
        get(sc.MM_BATCH) is True,
    )
    usage = pricing.CallUsage(
        get(sc.MM_INPUT_TOKENS),
        get(sc.MM_OUTPUT_TOKENS),
        get(sc.MM_CACHE_READ_TOKENS),
        get(sc.MM_CACHE_WRITE_TOKENS),
        get(sc.MM_REASONING_TOKENS),
    )
    return pricing.estimate(key, usage, start_ns)


def estimate(
    vendor: str | None,
    platform: str | None,
    model: str,
    usage: tuple[int, int, int, int],
    start_ns: int,
) -> Decimal | None:
    """USD for (input inclusive, cache read, cache write, output) tokens of `model`; None: unpriced.

    The form call.py uses today: it knows neither the gateway nor the service tier, so it can differ
    from ingest's price where those choose the price (OpenRouter's own list, flex or priority tiers).
    `estimate_call` has the whole key.
    """
    key = pricing.PriceKey(vendor or "", platform or "", "", "", model, "", False)
    input_tokens, cache_read, cache_write, output = usage
    return pricing.estimate(key, pricing.CallUsage(input_tokens, output, cache_read, cache_write), start_ns)


def request_fees(
    vendor: str | None, platform: str | None, model: str, fees: Mapping[str, int], start_ns: int
) -> tuple[Decimal, tuple[str, ...]]:
    """USD for per-request fees (`web_searches`: 3) of `model`, and the fees no price covers."""
    key = pricing.PriceKey(vendor or "", platform or "", "", "", model, "", False)
    return pricing.request_fees(key, fees, start_ns)
