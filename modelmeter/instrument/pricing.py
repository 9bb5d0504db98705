"""The estimated cost of a call, from genai-prices, cheap enough to run for every call.

genai-prices' own calculation costs about 60 µs; most models have flat per-token prices, so we ask
it once per (provider, model, minute) for the price of one million tokens of each kind and then
price a call with four Decimal multiplications. Models with tiered prices (the price depends on
the input size) are priced by genai-prices itself every time. The call's own timestamp picks the
price (prices change over time, some by time of day). Unknown model or provider: no cost, and the
source says `unpriced` (never 0).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

_MILLION = 1_000_000
_MINUTE_NS = 60 * 10**9

# model vendor (gateway naming) -> genai-prices provider id
_PROVIDER_IDS = {"google": "google", "xai": "x-ai", "meta": None, "alibaba": None}
# platforms that sell other vendors' models at their own prices
_RESELLERS = frozenset({"groq", "together", "fireworks", "deepseek", "azure", "aws.bedrock", "perplexity"})

_Rates = tuple[
    Decimal, Decimal, Decimal, Decimal
]  # per million: plain input, cache read, cache write, output
_cache: dict[tuple[str | None, str, int], Any] = {}
_TIERED = object()
_UNPRICED = object()


def estimate(
    vendor: str | None,
    platform: str | None,
    model: str,
    usage: tuple[int, int, int, int],
    start_ns: int,
) -> Decimal | None:
    """USD for (input inclusive, cache read, cache write, output) tokens, or None when unpriced."""
    provider_id = platform if platform in _RESELLERS else _PROVIDER_IDS.get(vendor or "", vendor)
    name = model.partition("/")[2] if "/" in model and vendor and model.startswith(vendor + "/") else model
    key = (provider_id, name, start_ns // _MINUTE_NS)
    rates = _cache.get(key)
    if rates is None:
        if len(_cache) > 4096:
            _cache.clear()
        rates = _cache[key] = _resolve(provider_id, name, start_ns)
    if rates is _UNPRICED:
        return None
    input_tokens, cache_read, cache_write, output = usage
    if rates is _TIERED:
        return _library_price(provider_id, name, usage, start_ns)
    plain, read, write, out = rates
    total = (
        plain * (input_tokens - cache_read - cache_write)
        + read * cache_read
        + write * cache_write
        + out * output
    )
    return total / _MILLION


def _resolve(provider_id: str | None, name: str, start_ns: int) -> Any:
    from genai_prices import Usage
    from genai_prices.data_snapshot import get_snapshot
    from genai_prices.types import TieredPrices

    when = datetime.fromtimestamp(start_ns / 1e9, tz=UTC)
    try:
        provider, model = get_snapshot().find_provider_model(name, None, provider_id, None)
        prices = model.get_prices(when)
    except (LookupError, ValueError):
        return _UNPRICED
    if any(isinstance(v, TieredPrices) for v in vars(prices).values()):
        return _TIERED

    def price(**counts: int) -> Decimal:
        return model.calc_price(Usage(**counts), provider, genai_request_timestamp=when).total_price

    return (
        price(input_tokens=_MILLION),
        price(input_tokens=_MILLION, cache_read_tokens=_MILLION),
        price(input_tokens=_MILLION, cache_write_tokens=_MILLION),
        price(output_tokens=_MILLION),
    )


def _library_price(
    provider_id: str | None, name: str, usage: tuple[int, int, int, int], start_ns: int
) -> Decimal | None:
    from genai_prices import Usage, calc_price

    input_tokens, cache_read, cache_write, output = usage
    try:
        return calc_price(
            Usage(
                input_tokens=input_tokens,
                cache_read_tokens=cache_read,
                cache_write_tokens=cache_write,
                output_tokens=output,
            ),
            name,
            provider_id=provider_id,
            genai_request_timestamp=datetime.fromtimestamp(start_ns / 1e9, tz=UTC),
        ).total_price
    except (LookupError, ValueError):
        return None
