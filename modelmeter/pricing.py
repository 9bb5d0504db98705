"""The pricing core: which price a call gets, the rates in force, and the cost, as Decimal.

Every estimate in modelmeter comes from here, so they agree to the last Decimal digit:
- `price_call` is the reference: one call in, genai-prices' own calculation out (with prices.toml
  overrides when ingest has them);
- `estimate` is the shim's form (instrument/call.py prices every call): the same price's linear rates,
  measured once per (price key, minute) and applied with a few multiplications;
- ingest/pricing.py turns the same rates into the price table that ingest and `reprice` join in DuckDB;
- `list_rates` gives the reports the base-tier rates of a canonical model, to re-price aggregated usage.

The rates are measured by pricing probe usages through genai-prices itself: within a price period and
an input band (cliff tiers), cost is linear in each token count, so rates reproduce `calc_price`.

Conventions: input tokens include cache reads and writes, output tokens include reasoning; a call
without input usage, or whose model no price source knows, is unpriced (None, never 0). Which
genai-prices provider a vendor, platform or gateway is: `modelmeter.vendors`.

genai-prices takes a third of a second to import, so it is imported on first use: the shim loads this
module inside the app and must stay light.
"""

from __future__ import annotations

import fnmatch
import itertools
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

from modelmeter import vendors

if TYPE_CHECKING:
    from genai_prices import Usage
    from genai_prices.types import ModelInfo, ModelPrice, Provider

SOURCE_GENAI_PRICES = "genai-prices"
SOURCE_OVERRIDE = "override"
SOURCE_UNPRICED = "unpriced"

STORED_COST = Decimal("1E-10")  # DECIMAL(18,10): DuckDB rounds half away from zero when casting
NO_INPUT_LIMIT = 2**62
_MINUTE_NS = 60 * 10**9
_DOTTED_VERSION = re.compile(r"(?<=\d)\.(?=\d)")


class PriceKey(NamedTuple):
    """What selects a price, apart from time and input size. Empty string means unknown."""

    provider: str
    platform: str
    gateway: str
    request_model: str
    response_model: str
    service_tier: str
    batch: bool


PRICE_KEY_COLUMNS: tuple[str, ...] = PriceKey._fields


class CallUsage(NamedTuple):
    """Token counts of one call (inclusive convention); None is unknown."""

    input_tokens: int | None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None

    def priceable(self) -> bool:
        """True when genai-prices can price it: known input, parts no larger than their totals."""
        if self.input_tokens is None:
            return False
        parts = (self.cache_read_tokens or 0) + (self.cache_write_tokens or 0)
        return parts <= self.input_tokens and (self.reasoning_tokens or 0) <= (self.output_tokens or 0)

    def as_genai_usage(self) -> Usage:
        from genai_prices import Usage

        counts = {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "output_reasoning_tokens": self.reasoning_tokens,
        }
        return Usage(**{name: value for name, value in counts.items() if value})


@dataclass(frozen=True, slots=True)
class PriceOverride:
    """One `[[override]]` of prices.toml: a discount on list prices or explicit per-million prices."""

    provider: str = "*"  # glob over the call's provider, platform, gateway or genai-prices provider id
    model: str = "*"  # glob over request and response model, with and without a `vendor/` prefix
    start: date | None = None  # inclusive, UTC
    end: date | None = None  # exclusive, UTC
    multiplier: Decimal = Decimal(1)
    prices: dict[str, Decimal] = field(default_factory=dict)  # genai-prices price keys, e.g. input_mtok

    def active_on(self, day: date) -> bool:
        return (self.start is None or day >= self.start) and (self.end is None or day < self.end)

    def matches(self, key: PriceKey, provider_id: str | None) -> bool:
        providers = [v for v in (key.provider, key.platform, key.gateway, provider_id) if v]
        models = {
            m for ref in (key.request_model, key.response_model) if ref for m in (ref, _strip_vendor(ref)[1])
        }
        return any(fnmatch.fnmatchcase(p, self.provider) for p in providers or [""]) and any(
            fnmatch.fnmatchcase(m, self.model) for m in models or {""}
        )


@dataclass(frozen=True, slots=True)
class Priced:
    """A cost estimate: `cost_usd` None means unpriced."""

    cost_usd: Decimal | None
    cost_source: str
    price_period: str | None = None

    def stored(self) -> Decimal | None:
        """The value as DuckDB stores it (DECIMAL(18,10))."""
        return None if self.cost_usd is None else self.cost_usd.quantize(STORED_COST, ROUND_HALF_UP)


UNPRICED = Priced(None, SOURCE_UNPRICED)


# --- which price -----------------------------------------------------------------------------------


def _strip_vendor(model_ref: str) -> tuple[str | None, str]:
    """`anthropic/claude-sonnet-4.5` -> ("anthropic", "claude-sonnet-4.5")."""
    vendor, sep, name = model_ref.partition("/")
    return (vendor, name) if sep else (None, model_ref)


def _candidates(key: PriceKey) -> Iterator[tuple[str | None, str]]:
    """(genai-prices provider id, model ref) to try, most specific first."""
    refs = [ref for ref in (key.response_model, key.request_model) if ref]
    if key.gateway in vendors.GATEWAYS_WITH_OWN_PRICES:
        for ref in refs:
            yield key.gateway, ref
    names: list[str] = []
    model_vendors: list[str] = []
    for ref in refs:
        vendor, name = _strip_vendor(ref)
        names += [name, _DOTTED_VERSION.sub("-", name)]
        if vendor:
            model_vendors.append(vendor)
    providers = []
    if key.platform and key.platform != key.gateway:
        providers.append(vendors.genai_prices_id(key.platform))
    providers += [vendors.genai_prices_id(v) for v in (key.provider, *model_vendors)]
    seen: set[tuple[str | None, str]] = set()
    for provider_id in [*providers, None]:
        for name in names:
            if (provider_id, name) not in seen:
                seen.add((provider_id, name))
                yield provider_id, name


@lru_cache(maxsize=4096)  # bounded: the shim runs inside long-lived apps
def resolve(key: PriceKey) -> tuple[Provider, ModelInfo] | None:
    """The genai-prices provider and model that price `key`, or None when no entry matches."""
    from genai_prices.data_snapshot import get_snapshot

    snapshot = get_snapshot()
    for provider_id, model_ref in _candidates(key):
        try:
            return snapshot.find_provider_model(model_ref, None, provider_id, None)
        except LookupError:
            continue
    return None


def _price_context(key: PriceKey) -> dict[str, str] | None:
    context = {}
    if key.service_tier:
        context["service_tier"] = key.service_tier
    if key.batch:
        context["processing"] = "batch"
    return context or None


def _override_for(
    key: PriceKey, provider_id: str | None, day: date, overrides: Sequence[PriceOverride]
) -> PriceOverride | None:
    for override in overrides:
        if override.active_on(day) and override.matches(key, provider_id):
            return override
    return None


@dataclass(frozen=True, slots=True)
class PriceSource:
    """Where a call's price comes from at one moment: a model price, a multiplier and labels."""

    model_price: ModelPrice
    multiplier: Decimal
    cost_source: str
    price_period: str

    def total(self, usage: CallUsage) -> Decimal:
        return self.model_price.calc_price(usage.as_genai_usage())["total_price"] * self.multiplier


def price_source(
    key: PriceKey, moment: datetime, overrides: Sequence[PriceOverride] = ()
) -> PriceSource | None:
    """The price in force for `key` at `moment`; None when no source knows the model."""
    from genai_prices import __version__ as genai_prices_version
    from genai_prices.types import ModelPrice

    resolved = resolve(key)
    override = _override_for(
        key, resolved[0].id if resolved else None, moment.astimezone(UTC).date(), overrides
    )
    if override is not None and override.prices:
        label = f"override {override.provider}/{override.model} (explicit prices)"
        return PriceSource(ModelPrice(**override.prices), override.multiplier, SOURCE_OVERRIDE, label)
    if resolved is None:
        return None
    provider, model = resolved
    # as calc_price does: request variants apply only to the provider's own models, not to fallbacks
    own_model = any(model is m for m in provider.models)
    model_price = model.get_prices(moment, _price_context(key) if own_model else None)
    label = f"genai-prices {genai_prices_version} {provider.id}/{model.id}"
    if override is None:
        return PriceSource(model_price, Decimal(1), SOURCE_GENAI_PRICES, label)
    prefix = f"override {override.provider}/{override.model} x{override.multiplier} on "
    return PriceSource(model_price, override.multiplier, SOURCE_OVERRIDE, prefix + label)


def price_call(
    key: PriceKey, usage: CallUsage, when: datetime, overrides: Sequence[PriceOverride] = ()
) -> Priced:
    """The reference estimate for one call started at `when` (UTC)."""
    if not usage.priceable():
        return UNPRICED
    source = price_source(key, when, overrides)
    if source is None:
        return UNPRICED
    return Priced(source.total(usage), source.cost_source, source.price_period)


# --- rates -----------------------------------------------------------------------------------------


class Rates(NamedTuple):
    """USD per token within one price period and input band.

    cost = base + per_input * input + per_cache_read * cache_read + per_cache_write * cache_write
           + per_output * output + per_reasoning * reasoning
    where a part priced apart from its total (cache from input, reasoning from output) has the
    difference as its rate.
    """

    base: Decimal
    per_input: Decimal
    per_cache_read: Decimal
    per_cache_write: Decimal
    per_output: Decimal
    per_reasoning: Decimal

    def cost(self, usage: CallUsage, requests: int = 1) -> Decimal:
        """USD for `usage`; for usage summed over calls, `requests` says how many (a base is per call)."""
        total = self.base * requests + self.per_input * (usage.input_tokens or 0)
        # the shim prices every call: parts that are absent cost no multiplication
        if usage.cache_read_tokens:
            total += self.per_cache_read * usage.cache_read_tokens
        if usage.cache_write_tokens:
            total += self.per_cache_write * usage.cache_write_tokens
        if usage.output_tokens:
            total += self.per_output * usage.output_tokens
        if usage.reasoning_tokens:
            total += self.per_reasoning * usage.reasoning_tokens
        return total


def input_bands(model_price: ModelPrice) -> list[tuple[int, int]]:
    """Input-size bands of cliff tiers: (above, upto]; one band when nothing is tiered."""
    from genai_prices.types import TieredPrices

    starts = sorted(
        {
            tier.start
            for value in model_price.__dict__.values()
            if isinstance(value, TieredPrices)
            for tier in value.tiers
        }
    )
    edges = [-1, *starts, NO_INPUT_LIMIT]
    return list(itertools.pairwise(edges))


def rates_in_band(total: Callable[[CallUsage], Decimal], above: int) -> Rates:
    """The rates of one band, measured with probe usages through `total`."""
    low, high = above + 1, above + 2

    def at(inp: int, **parts: int) -> Decimal:
        return total(CallUsage(input_tokens=inp, **parts))

    per_input = at(high) - at(low)
    return Rates(
        at(low) - per_input * low,
        per_input,
        at(high, cache_read_tokens=1) - at(high),
        at(high, cache_write_tokens=1) - at(high),
        at(high, output_tokens=1) - at(high),
        at(high, output_tokens=1, reasoning_tokens=1) - at(high, output_tokens=1),
    )


def band_rates(source: PriceSource) -> list[tuple[int, int, Rates]]:
    """(above, upto, rates) for each input band of a price source."""
    return [
        (above, upto, rates_in_band(source.total, above)) for above, upto in input_bands(source.model_price)
    ]


# (key, minute) -> the bands in force then, or None when unpriced
_rates_by_minute: dict[tuple[PriceKey, int], list[tuple[int, int, Rates]] | None] = {}


def estimate(key: PriceKey, usage: CallUsage, start_ns: int) -> Decimal | None:
    """`price_call` without overrides for a call started at `start_ns` (epoch ns), from cached rates.

    The shim prices every call, and genai-prices' own calculation is slow next to a few Decimal
    multiplications: the rates in force are measured once per key and minute (prices change over
    time, some by time of day). None when unpriced.
    """
    if not usage.priceable():
        return None
    slot = (key, start_ns // _MINUTE_NS)
    try:
        bands = _rates_by_minute[slot]
    except KeyError:
        if len(_rates_by_minute) > 4096:
            _rates_by_minute.clear()
        source = price_source(key, datetime.fromtimestamp(start_ns / 1e9, tz=UTC))
        bands = _rates_by_minute[slot] = None if source is None else band_rates(source)
    if bands is None:
        return None
    input_tokens = usage.input_tokens or 0
    for above, upto, rates in bands:
        if above < input_tokens <= upto:
            return rates.cost(usage)
    return None


def request_fees(key: PriceKey, fees: Mapping[str, int], start_ns: int) -> tuple[Decimal, tuple[str, ...]]:
    """USD for a call's per-request fees (genai-prices usage keys: `web_searches`, `code_executions`,
    ...) and the fees nothing prices (a name genai-prices lacks, or a model without that price)."""
    from genai_prices import Usage
    from genai_prices.data_units import unit_data

    source = price_source(key, datetime.fromtimestamp(start_ns / 1e9, tz=UTC))
    total, unpriced = Decimal(0), []
    for name, count in sorted(fees.items()):
        unit = unit_data.get(name)
        if source is None or unit is None or getattr(source.model_price, unit["price_key"], None) is None:
            unpriced.append(name)
            continue
        total += source.model_price.calc_price(Usage(**{name: count}))["total_price"] * source.multiplier
    return total, tuple(unpriced)


@lru_cache(maxsize=512)
def list_rates(model: str, at: datetime) -> Rates | None:
    """Base-tier rates of a canonical `provider/name` model at `at`, or None when nothing prices it.

    For re-pricing aggregated usage (a workflow's month): genai-prices applies cliff tiers per request,
    and a month of usage is far past any threshold, so aggregated tokens take the lowest tier's rates.
    """
    provider, _, name = model.partition("/")
    if not name:
        return None
    source = price_source(PriceKey(provider, "", "", name, "", "", False), at)
    return None if source is None else rates_in_band(source.total, -1)
