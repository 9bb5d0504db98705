"""What a report is: data, not presentation (DESIGN principle 5: compute, then render).

A `Report` holds ranked findings (what to do next), headline numbers (each with its definition and
the number of calls behind it, so every printed number is traceable to rows), tables (small polars
frames of aggregates), chart specs (declarative: which table, which columns, which kind of chart),
sections (which of them belong together on a page) and notes (data quality, caveats). Renderers in
`reports/render/` turn any report into terminal, HTML, Markdown, CSV, JSON or Parquet output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import polars as pl

Unit = Literal["usd", "calls", "count", "ms", "ratio", "tokens", "tokens_per_s", "text"]


@dataclass(frozen=True, slots=True)
class Headline:
    """One number a reader may quote. `definition` says how it is computed, `based_on` over how many calls."""

    key: str  # stable identifier, e.g. "spend_usd"; tests and the JSON output use it
    label: str
    value: float | int | str | None  # None: unknown (not zero)
    unit: Unit
    definition: str
    based_on: int  # calls the number is computed from
    sql: str | None = None  # an aggregate over `calls` in scope that reproduces the value, when one does
    based_on_sql: str | None = None  # the aggregate that reproduces `based_on`


@dataclass(frozen=True, slots=True)
class Table:
    """An aggregate table: small by construction (fetched from DuckDB already grouped)."""

    name: str  # file-name friendly: used by the CSV / Parquet writers
    title: str
    frame: pl.DataFrame
    description: str = ""


ChartKind = Literal["stacked_bars", "intervals", "lines", "ranges"]


@dataclass(frozen=True, slots=True)
class Chart:
    """A declarative chart over one of the report's tables; the HTML renderer draws it as inline SVG.

    Kinds: `stacked_bars` (one bar per `x`, stacked by `color`), `intervals` (a point per `x` category
    at `y` with a whisker from `low` to `high`), `lines` (`y` over time `x` per `color`, with the
    rows of the table `bands` (start, end) shaded behind), `ranges` (per `x` category a line
    from `low` to `high`, a box from `box_low` to `box_high` and a tick at `y`). The title states
    the finding the chart shows, not only the measure.
    """

    name: str
    title: str
    table: str  # Table.name
    kind: ChartKind
    x: str
    y: str
    color: str | None = None
    y_title: str | None = None
    low: str | None = None
    high: str | None = None
    box_low: str | None = None
    box_high: str | None = None
    bands: str | None = None  # Table.name of shaded time windows (columns start and end)


@dataclass(frozen=True, slots=True)
class Finding:
    """One ranked sentence of what to do next, with its number, pointing to the section behind it."""

    text: str
    section: str  # Section.key (the anchor of the section that backs it)
    level: Literal["act", "watch", "info"] = "info"


@dataclass(frozen=True, slots=True)
class Section:
    """A themed part of a page: its headlines (the first `lead` shown larger), tables and charts."""

    key: str  # anchor, e.g. "spend"
    title: str
    headlines: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()
    charts: tuple[str, ...] = ()
    lead: int = 1


@dataclass(slots=True)
class Report:
    """The result of a report job: a pure function of the `calls` rows in scope and the parameters."""

    kind: str
    title: str
    period: tuple[datetime | None, datetime | None]  # the time window actually covered [start, end)
    filters: dict[str, Any]
    based_on: int  # calls in scope
    headlines: list[Headline] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    summary: str = ""  # one or two sentences in plain words, e.g. the compare verdict
    findings: list[Finding] = field(default_factory=list)  # ranked: what to do next, first
    sections: list[Section] = field(default_factory=list)  # empty: one section with everything

    def headline(self, key: str) -> Headline:
        """The headline named `key` (KeyError if the report has none)."""
        for item in self.headlines:
            if item.key == key:
                return item
        raise KeyError(key)

    def table(self, name: str) -> Table:
        """The table named `name` (KeyError if the report has none)."""
        for item in self.tables:
            if item.name == name:
                return item
        raise KeyError(name)
