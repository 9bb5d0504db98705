"""Cost estimates: genai-prices at the call's own time, with local overrides, in two equal forms.

`price_call` is the reference: one call in, one `calc_price` out. `price_rows` turns the same prices
into unit rates per (price key, price period, input band) so that ingest and `reprice` apply them as
one columnar join in DuckDB instead of one Python call per row. The rates are measured by pricing
probe usages through genai-prices itself (cost is linear in each token count within a period and an
input band), so the join reproduces `calc_price` to the last Decimal digit; tests hold both together.

Conventions: input tokens include cache reads and writes, output tokens include reasoning; a call
without input usage, or whose model no price source knows, is unpriced (NULL cost, never 0).
"""

from __future__ import annotations

import fnmatch
import itertools
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

from genai_prices import Usage
from genai_prices import __version__ as GENAI_PRICES_VERSION
from genai_prices.data_snapshot import get_snapshot
from genai_prices.types import (
    ConditionalPrice,
    ModelInfo,
    ModelPrice,
    Provider,
    StartDateConstraint,
    TieredPrices,
    TimeOfDateConstraint,
)

SOURCE_GENAI_PRICES = "genai-prices"
SOURCE_OVERRIDE = "override"
SOURCE_UNPRICED = "unpriced"

STORED_COST = Decimal("1E-10")  # DECIMAL(18,10): DuckDB rounds half away from zero when casting
NS_PER_DAY = 86_400 * 10**9
_FAR_PAST_NS = -(2**62)
_FAR_FUTURE_NS = 2**62
_NO_INPUT_LIMIT = 2**62
_ANY_DAY = date(2000, 1, 1)
_MTOK = Decimal(1_000_000)

# The record's `provider` (vendor, gateway naming) and `platform` (who served it) as genai-prices ids.
_PROVIDER_IDS: dict[str, str] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "google": "google",
    "gemini": "google",
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",
    "gcp.gen_ai": "google",
    "vertex": "google",
    "azure": "azure",
    "azure.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "aws.bedrock": "aws",
    "bedrock": "aws",
    "mistral": "mistral",
    "mistral_ai": "mistral",
    "xai": "x-ai",
    "x_ai": "x-ai",
    "moonshot": "moonshotai",
    "moonshot_ai": "moonshotai",
}
_GATEWAYS_WITH_OWN_TABLE = {"openrouter"}
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


@dataclass(frozen=True, slots=True)
class CallUsage:
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


def load_overrides(path: Path | None) -> list[PriceOverride]:
    """Read prices.toml; a missing file means no overrides. The first matching override wins:

    [[override]]              # a negotiated discount on list prices, for a period
    provider = "openai"       # glob over the call's provider, platform or gateway
    model = "gpt-4o*"         # glob over request / response model (with or without `vendor/`)
    start = 2026-01-01        # inclusive, UTC; optional
    end = 2026-07-01          # exclusive; optional
    multiplier = 0.8

    [[override]]              # a custom or fine-tuned model: explicit USD per million tokens
    model = "acme-ft-*"
    input_mtok = 1.25         # any genai-prices price key: output_mtok, cache_read_mtok, ...
    output_mtok = 5
    """
    if path is None or not path.exists():
        return []
    data = tomllib.loads(path.read_text())
    overrides = []
    for entry in data.get("override", []):
        entry = dict(entry)
        prices = {k: Decimal(str(entry.pop(k))) for k in list(entry) if k.endswith(("_mtok", "_kcount"))}
        overrides.append(
            PriceOverride(
                provider=str(entry.pop("provider", "*")),
                model=str(entry.pop("model", "*")),
                start=entry.pop("start", None),
                end=entry.pop("end", None),
                multiplier=Decimal(str(entry.pop("multiplier", 1))),
                prices=prices,
            )
        )
        if entry:
            raise ValueError(f"{path}: unknown keys in [[override]]: {', '.join(sorted(entry))}")
    return overrides


def _strip_vendor(model_ref: str) -> tuple[str | None, str]:
    """`anthropic/claude-sonnet-4.5` -> ("anthropic", "claude-sonnet-4.5")."""
    vendor, sep, name = model_ref.partition("/")
    return (vendor, name) if sep else (None, model_ref)


def _provider_id(value: str | None) -> str | None:
    return _PROVIDER_IDS.get(value, value) if value else None


def _candidates(key: PriceKey) -> Iterator[tuple[str | None, str]]:
    """(genai-prices provider id, model ref) to try, most specific first."""
    refs = [ref for ref in (key.response_model, key.request_model) if ref]
    if key.gateway in _GATEWAYS_WITH_OWN_TABLE:
        for ref in refs:
            yield key.gateway, ref
    names: list[str] = []
    vendors: list[str] = []
    for ref in refs:
        vendor, name = _strip_vendor(ref)
        names += [name, _DOTTED_VERSION.sub("-", name)]
        if vendor:
            vendors.append(vendor)
    providers = []
    if key.platform and key.platform != key.gateway:
        providers.append(_provider_id(key.platform))
    providers += [_provider_id(v) for v in (key.provider, *vendors)]
    seen: set[tuple[str | None, str]] = set()
    for provider_id in [*providers, None]:
        for name in names:
            if (provider_id, name) not in seen:
                seen.add((provider_id, name))
                yield provider_id, name


@cache
def _resolve(key: PriceKey) -> tuple[str | None, str, Provider, ModelInfo] | None:
    snapshot = get_snapshot()
    for provider_id, model_ref in _candidates(key):
        try:
            provider, model = snapshot.find_provider_model(model_ref, None, provider_id, None)
        except LookupError:
            continue
        return provider_id, model_ref, provider, model
    return None


def _price_context(key: PriceKey) -> dict[str, str] | None:
    context = {}
    if key.service_tier:
        context["service_tier"] = key.service_tier
    if key.batch:
        context["processing"] = "batch"
    return context or None


def _override_for(
    key: PriceKey, provider_id: str | None, day: date, overrides: list[PriceOverride]
) -> PriceOverride | None:
    for override in overrides:
        if override.active_on(day) and override.matches(key, provider_id):
            return override
    return None


@dataclass(frozen=True, slots=True)
class _PriceSource:
    """Where a call's price comes from at one moment: a model price, a multiplier and labels."""

    model_price: ModelPrice
    multiplier: Decimal
    cost_source: str
    price_period: str

    def total(self, usage: CallUsage) -> Decimal:
        return self.model_price.calc_price(usage.as_genai_usage())["total_price"] * self.multiplier


def _price_source(key: PriceKey, moment: datetime, overrides: list[PriceOverride]) -> _PriceSource | None:
    """The price in force for `key` at `moment`; None when no source knows the model."""
    resolved = _resolve(key)
    override = _override_for(
        key, resolved[2].id if resolved else None, moment.astimezone(UTC).date(), overrides
    )
    if override is not None and override.prices:
        label = f"override {override.provider}/{override.model} (explicit prices)"
        return _PriceSource(ModelPrice(**override.prices), override.multiplier, SOURCE_OVERRIDE, label)
    if resolved is None:
        return None
    _, _, provider, model = resolved
    # as calc_price does: request variants apply only to the provider's own models, not to fallbacks
    own_model = any(model is m for m in provider.models)
    model_price = model.get_prices(moment, _price_context(key) if own_model else None)
    label = f"genai-prices {GENAI_PRICES_VERSION} {provider.id}/{model.id}"
    if override is None:
        return _PriceSource(model_price, Decimal(1), SOURCE_GENAI_PRICES, label)
    prefix = f"override {override.provider}/{override.model} x{override.multiplier} on "
    return _PriceSource(model_price, override.multiplier, SOURCE_OVERRIDE, prefix + label)


def price_call(key: PriceKey, usage: CallUsage, when: datetime, overrides: list[PriceOverride]) -> Priced:
    """The reference estimate for one call started at `when` (UTC)."""
    if not usage.priceable():
        return UNPRICED
    source = _price_source(key, when, overrides)
    if source is None:
        return UNPRICED
    return Priced(source.total(usage), source.cost_source, source.price_period)


# --- the columnar form ------------------------------------------------------------------------

# The price table ingest loads into DuckDB: key columns, then where a row applies, then the rates.
# cost = base + per_input*input + per_cache_read*cache_read + per_cache_write*cache_write
#        + per_output*output + per_reasoning*reasoning   (per_* are differences where parts are priced apart)
RATE_COLUMNS: tuple[str, ...] = (
    "base",
    "per_input",
    "per_cache_read",
    "per_cache_write",
    "per_output",
    "per_reasoning",
)
PRICE_TABLE_COLUMNS: dict[str, str] = {
    **{f"k_{name}": ("BOOLEAN" if name == "batch" else "VARCHAR") for name in PRICE_KEY_COLUMNS},
    "from_ns": "BIGINT",  # the call's start, epoch ns: from_ns <= start < to_ns
    "to_ns": "BIGINT",
    "tod_from_ns": "BIGINT",  # time of day (UTC), ns: tod_from_ns <= start % day < tod_to_ns
    "tod_to_ns": "BIGINT",
    "input_above": "BIGINT",  # cliff tiers: input_above < input_tokens <= input_upto
    "input_upto": "BIGINT",
    **{name: "DECIMAL(18,14)" for name in RATE_COLUMNS},  # USD per token (1e-14 = 1e-8 per Mtok)
    "cost_source": "VARCHAR",
    "price_period": "VARCHAR",
}


def _utc_ns_of_day(value: time) -> int:
    if value.tzinfo is not None:
        value = datetime.combine(_ANY_DAY, value).astimezone(UTC).time()
    return ((value.hour * 60 + value.minute) * 60 + value.second) * 10**9 + value.microsecond * 1000


def _constraints(model: ModelInfo) -> Iterator[StartDateConstraint | TimeOfDateConstraint]:
    if isinstance(model.prices, list):
        yield from (c.constraint for c in model.prices if isinstance(c, ConditionalPrice) and c.constraint)
    for variant in model.price_variants or ():
        if variant.constraint is not None:
            yield variant.constraint


def _segments(
    model: ModelInfo | None, overrides: list[PriceOverride]
) -> Iterator[tuple[int, int, int, int, datetime]]:
    """Periods in which the price is constant: (from_ns, to_ns, tod_from_ns, tod_to_ns, a moment inside)."""
    days: set[date] = set()
    times: set[int] = {0}
    for constraint in _constraints(model) if model else ():
        if isinstance(constraint, StartDateConstraint):
            days.add(constraint.start_date)
        else:
            times |= {_utc_ns_of_day(constraint.start_time), _utc_ns_of_day(constraint.end_time)}
    for override in overrides:
        days |= {d for d in (override.start, override.end) if d is not None}
    ordered_days = sorted(days)
    day_bounds: list[tuple[int, int, date]] = []
    edges = [None, *ordered_days, None]
    for lo, hi in itertools.pairwise(edges):
        inside = lo if lo is not None else (hi - timedelta(days=1) if hi is not None else _ANY_DAY)
        day_bounds.append(
            (_day_ns(lo) if lo else _FAR_PAST_NS, _day_ns(hi) if hi else _FAR_FUTURE_NS, inside)
        )
    ordered_times = sorted(times)
    for from_ns, to_ns, inside_day in day_bounds:
        for tod_from, tod_to in zip(ordered_times, [*ordered_times[1:], NS_PER_DAY], strict=True):
            moment = datetime.combine(inside_day, time(), UTC) + timedelta(microseconds=tod_from // 1000)
            yield from_ns, to_ns, tod_from, tod_to, moment


def _day_ns(day: date) -> int:
    return int(datetime.combine(day, time(), UTC).timestamp()) * 10**9


def _bands(model_price: ModelPrice) -> list[tuple[int, int]]:
    """Input-size bands of cliff tiers: (above, upto]; one band when nothing is tiered."""
    starts = sorted(
        {
            tier.start
            for value in model_price.__dict__.values()
            if isinstance(value, TieredPrices)
            for tier in value.tiers
        }
    )
    edges = [-1, *starts, _NO_INPUT_LIMIT]
    return list(itertools.pairwise(edges))


def _rates(total: Callable[[CallUsage], Decimal], above: int) -> tuple[Decimal, ...]:
    """Linear coefficients of cost in one band, measured with probe usages through `total`."""
    low, high = above + 1, above + 2

    def at(inp: int, **parts: int) -> Decimal:
        return total(CallUsage(input_tokens=inp, **parts))

    per_input = at(high) - at(low)
    base = at(low) - per_input * low
    return (
        base,
        per_input,
        at(high, cache_read_tokens=1) - at(high),
        at(high, cache_write_tokens=1) - at(high),
        at(high, output_tokens=1) - at(high),
        at(high, output_tokens=1, reasoning_tokens=1) - at(high, output_tokens=1),
    )


def price_rows(keys: Iterable[PriceKey], overrides: list[PriceOverride]) -> list[tuple[Any, ...]]:
    """The price table (PRICE_TABLE_COLUMNS) for these keys; keys nobody can price get no row."""
    rows: list[tuple[Any, ...]] = []
    for key in keys:
        resolved = _resolve(key)
        for from_ns, to_ns, tod_from, tod_to, moment in _segments(
            resolved[3] if resolved else None, overrides
        ):
            source = _price_source(key, moment, overrides)
            if source is None:
                continue
            for above, upto in _bands(source.model_price):
                rates = _rates(source.total, above)
                where = (from_ns, to_ns, tod_from, tod_to, above, upto)
                rows.append((*key, *where, *rates, source.cost_source, source.price_period))
    return rows
