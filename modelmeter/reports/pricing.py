"""List prices per token kind, for re-pricing aggregated usage (tiers report, synthetic data).

Re-pricing a workflow's whole usage with one `calc_price` call would be wrong: genai-prices applies
cliff tiers per request (e.g. a higher rate past 200k input tokens), and a month of usage is far past
any threshold. So we ask for the base-tier unit prices once per model and multiply aggregated
token counts in DuckDB or polars. Unknown models are None (unpriced), never zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

# A request small enough to stay in every model's lowest tier.
_PROBE_TOKENS = 1000


@dataclass(frozen=True, slots=True)
class UnitPrices:
    """USD per 1M tokens of each kind (input excludes cache reads and writes, which have their own rate)."""

    input: float
    output: float
    cache_read: float
    cache_write: float


@lru_cache(maxsize=512)
def unit_prices(model: str, at: datetime) -> UnitPrices | None:
    """Base-tier prices of a canonical `provider/name` model at `at`, or None when no price source knows it.

    Prices come from ingest's per-call reference (`price_call`: genai-prices plus overrides), probed
    with small usages, so a re-priced total agrees with what ingest stored for the same tokens.
    """
    from modelmeter.ingest.pricing import CallUsage, PriceKey, price_call

    provider, _, name = model.partition("/")
    if not name:
        return None
    key = PriceKey(provider, "", "", name, "", "", False)

    def per_million(**usage: int) -> float | None:
        priced = price_call(key, CallUsage(**usage), at, [])
        return None if priced.cost_usd is None else float(priced.cost_usd) * 1_000_000 / _PROBE_TOKENS

    base_input = per_million(input_tokens=_PROBE_TOKENS)
    if base_input is None:
        return None
    with_output = per_million(input_tokens=_PROBE_TOKENS, output_tokens=_PROBE_TOKENS)
    with_read = per_million(input_tokens=_PROBE_TOKENS, cache_read_tokens=_PROBE_TOKENS)
    with_write = per_million(input_tokens=_PROBE_TOKENS, cache_write_tokens=_PROBE_TOKENS)
    return UnitPrices(
        input=base_input,
        output=(with_output or base_input) - base_input,
        cache_read=with_read if with_read is not None else base_input,
        cache_write=with_write if with_write is not None else base_input,
    )


def usage_cost(
    prices: UnitPrices, input_tokens: float, output_tokens: float, cache_read: float, cache_write: float
) -> float:
    """USD for aggregated usage at unit prices (input is inclusive of cache reads and writes)."""
    plain_input = input_tokens - cache_read - cache_write
    return (
        plain_input * prices.input
        + cache_read * prices.cache_read
        + cache_write * prices.cache_write
        + output_tokens * prices.output
    ) / 1_000_000
