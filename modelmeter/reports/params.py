"""Report parameters and the SQL filter they become, so every report filters the same way.

Filters are pushed down to DuckDB as a WHERE clause with bound parameters (never string-formatted
values): DuckDB prunes by zone maps on `start_time` and reads only the columns a query names.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

# columns a user may filter on with repeatable options (--workflow a --workflow b)
FILTER_COLUMNS: tuple[str, ...] = ("workflow", "team", "provider", "model", "route")


@dataclass(frozen=True, slots=True)
class ReportParams:
    """Everything a report job depends on besides the data. Immutable: jobs derive variants with `replace`."""

    since: datetime | None = None  # inclusive, timezone-aware
    until: datetime | None = None  # exclusive
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)  # column -> accepted values
    # compare: which column splits the arms, and the two values
    by: str = "route"
    a: str | None = None
    b: str | None = None
    # compare: calls inside an outage window of their provider are left out unless kept
    keep_incidents: bool = False
    # tiers: the policy file (TOML); weekly: the budgets file (TOML)
    policy: Path | None = None
    budgets: Path | None = None
    # bootstrap (compare): seeded, on per-group samples capped in DuckDB
    seed: int = 7
    sample_cap: int = 20_000
    resamples: int = 1000

    def with_window(self, since: datetime | None, until: datetime | None) -> ReportParams:
        return replace(self, since=since, until=until)


@dataclass(frozen=True, slots=True)
class Scope:
    """A WHERE clause over `calls` plus its bound arguments."""

    where: str
    args: dict[str, Any]

    def and_(self, condition: str, **args: Any) -> Scope:
        """A narrower scope: this one AND `condition` (which may bind more named arguments)."""
        return Scope(f"({self.where}) AND ({condition})", {**self.args, **args})


def scope_of(params: ReportParams) -> Scope:
    """The filter of `params` as SQL; an empty filter is `TRUE`."""
    clauses: list[str] = []
    args: dict[str, Any] = {}
    if params.since is not None:
        clauses.append("start_time >= $since")
        args["since"] = params.since
    if params.until is not None:
        clauses.append("start_time < $until")
        args["until"] = params.until
    for column, values in params.filters.items():
        if column not in FILTER_COLUMNS:
            raise ValueError(f"cannot filter on {column!r}: choose from {', '.join(FILTER_COLUMNS)}")
        if not values:
            continue
        names = [f"{column}_{i}" for i in range(len(values))]
        clauses.append(f"{column} IN ({', '.join('$' + n for n in names)})")
        args.update(zip(names, values, strict=True))
    return Scope(" AND ".join(clauses) or "TRUE", args)
