"""The shim's cost estimate: the pricing core's (`modelmeter.pricing.estimate`), keyed like a record.

A span says what its call cost to whoever reads it (an OTel backend, the spool). Ingest prices the
record again with the same core and the same key (vendor, platform, gateway, models, service tier,
batch), adding the overrides of prices.toml, so without an override the two agree to the last digit.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from modelmeter import pricing
from modelmeter import semconv as sc


def price_key(attributes: Mapping[str, Any]) -> pricing.PriceKey:
    """What selects a call's price, read from its span attributes as ingest reads its record."""
    get = attributes.get
    return pricing.PriceKey(
        get(sc.MM_PROVIDER) or "",
        get(sc.MM_PLATFORM) or "",
        get(sc.MM_GATEWAY) or "",
        get(sc.GEN_AI_REQUEST_MODEL) or "",
        get(sc.GEN_AI_RESPONSE_MODEL) or "",
        get(sc.MM_SERVICE_TIER) or "",
        get(sc.MM_BATCH) is True,
    )


def estimate_call(attributes: Mapping[str, Any], start_ns: int) -> Decimal | None:
    """USD for a call from its span attributes (key and usage as its record has them); None: unpriced."""
    get = attributes.get
    usage = pricing.CallUsage(
        get(sc.MM_INPUT_TOKENS),
        get(sc.MM_OUTPUT_TOKENS),
        get(sc.MM_CACHE_READ_TOKENS),
        get(sc.MM_CACHE_WRITE_TOKENS),
        get(sc.MM_REASONING_TOKENS),
    )
    return pricing.estimate(price_key(attributes), usage, start_ns)
