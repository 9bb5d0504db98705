"""Ingest's prices: the overrides of prices.toml and the price table ingest and `reprice` join.

The price of a call comes from the pricing core (`modelmeter.pricing`); here the same rates become
rows per (price key, price period, input band), so that DuckDB prices a batch with one columnar join
instead of one Python call per row. Each row holds `pricing.Rates` as measured by the core, so the
join reproduces `pricing.price_call` to the last Decimal digit; tests hold both together.
"""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelmeter.pricing import (
    PRICE_KEY_COLUMNS,
    PriceKey,
    PriceOverride,
    Rates,
    band_rates,
    price_source,
    resolve,
)

if TYPE_CHECKING:
    from genai_prices.types import ModelInfo, StartDateConstraint, TimeOfDateConstraint

NS_PER_DAY = 86_400 * 10**9
_FAR_PAST_NS = -(2**62)
_FAR_FUTURE_NS = 2**62
_ANY_DAY = date(2000, 1, 1)


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


# The price table ingest loads into DuckDB: key columns, then where a row applies, then the rates.
PRICE_TABLE_COLUMNS: dict[str, str] = {
    **{f"k_{name}": ("BOOLEAN" if name == "batch" else "VARCHAR") for name in PRICE_KEY_COLUMNS},
    "from_ns": "BIGINT",  # the call's start, epoch ns: from_ns <= start < to_ns
    "to_ns": "BIGINT",
    "tod_from_ns": "BIGINT",  # time of day (UTC), ns: tod_from_ns <= start % day < tod_to_ns
    "tod_to_ns": "BIGINT",
    "input_above": "BIGINT",  # cliff tiers: input_above < input_tokens <= input_upto
    "input_upto": "BIGINT",
    **{name: "DECIMAL(18,14)" for name in Rates._fields},  # USD per token (1e-14 = 1e-8 per Mtok)
    "cost_source": "VARCHAR",
    "price_period": "VARCHAR",
}


def _utc_ns_of_day(value: time) -> int:
    if value.tzinfo is not None:
        value = datetime.combine(_ANY_DAY, value).astimezone(UTC).time()
    return ((value.hour * 60 + value.minute) * 60 + value.second) * 10**9 + value.microsecond * 1000


def _constraints(model: ModelInfo) -> Iterator[StartDateConstraint | TimeOfDateConstraint]:
    from genai_prices.types import ConditionalPrice

    if isinstance(model.prices, list):
        yield from (c.constraint for c in model.prices if isinstance(c, ConditionalPrice) and c.constraint)
    for variant in model.price_variants or ():
        if variant.constraint is not None:
            yield variant.constraint


def _segments(
    model: ModelInfo | None, overrides: list[PriceOverride]
) -> Iterator[tuple[int, int, int, int, datetime]]:
    """Periods in which the price is constant: (from_ns, to_ns, tod_from_ns, tod_to_ns, a moment inside)."""
    from genai_prices.types import StartDateConstraint

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


def price_rows(keys: Iterable[PriceKey], overrides: list[PriceOverride]) -> list[tuple[Any, ...]]:
    """The price table (PRICE_TABLE_COLUMNS) for these keys; keys nobody can price get no row."""
    rows: list[tuple[Any, ...]] = []
    for key in keys:
        resolved = resolve(key)
        for from_ns, to_ns, tod_from, tod_to, moment in _segments(
            resolved[1] if resolved else None, overrides
        ):
            source = price_source(key, moment, overrides)
            if source is None:
                continue
            for above, upto, rates in band_rates(source):
                where = (from_ns, to_ns, tod_from, tod_to, above, upto)
                rows.append((*key, *where, *rates, source.cost_source, source.price_period))
    return rows
