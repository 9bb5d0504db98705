"""Budgets: spend per workflow, team, provider (or in total) per day, week or month, against warn and
fail limits, with a forecast of the period's end from the run rate so the alert comes before the invoice.

The config is TOML, one table per scope and name, one inline table per period:

    [total]
    month = { warn = 8000, fail = 10000 }
    [workflow.support-triage]
    day = { warn = 40, fail = 50 }
    [team.platform]
    week = { fail = 500 }
    [provider.openai]
    month = { warn = 3000 }

Periods are calendar periods in UTC (ISO weeks start on Monday). The run rate is the spend of the
trailing period length (the last 24 hours, 7 days, or 30 days) per second; the forecast is the spend so
far plus that rate over what is left of the period.

Budgets fail closed: a limit that is not a number, is negative, or has warn above fail is refused, and
a budget whose workflow, team or provider has no calls in its period is not "ok" but "no-calls" (a
typo in a name would otherwise switch the budget off without a word).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import duckdb

from modelmeter.reports.source import fetch_row, home_dir

SCOPES = ("workflow", "team", "provider")
PERIODS = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=30)}
Status = Literal["ok", "warn", "fail", "no-calls"]
EXIT_CODES: dict[Status, int] = {"ok": 0, "warn": 1, "no-calls": 1, "fail": 2}


class BudgetConfigError(ValueError):
    """The budgets file is missing, is not TOML, or holds an entry that is not a valid budget."""


@dataclass(frozen=True, slots=True)
class Budget:
    scope: str  # workflow | team | provider | total
    name: str | None  # None for total
    period: str  # day | week | month
    warn: float | None
    fail: float | None

    @property
    def label(self) -> str:
        return f"{self.scope} {self.name} per {self.period}" if self.name else f"total per {self.period}"


@dataclass(frozen=True, slots=True)
class BudgetCheck:
    budget: Budget
    period_start: datetime
    period_end: datetime
    spent_usd: float
    projected_usd: float
    calls: int
    status: Status
    reason: str


def default_config_path() -> Path:
    return home_dir() / "budgets.toml"


def load_budgets(path: Path) -> list[Budget]:
    """Parse a budgets file; raises BudgetConfigError naming the file and the bad entry."""
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise BudgetConfigError(f"no budgets file at {path}: pass --config FILE") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BudgetConfigError(f"cannot read budgets {path}: {exc}") from exc
    budgets: list[Budget] = []

    def add(scope: str, name: str | None, periods: object) -> None:
        section = f"[{scope}{'.' + name if name else ''}]"
        if not isinstance(periods, dict) or not periods:
            raise BudgetConfigError(
                f"{path}: {section} must be a table of periods, e.g. day = {{ fail = 50 }}"
            )
        for period, limits in periods.items():
            where = f"{path}: {section} {period}"
            if period not in PERIODS:
                raise BudgetConfigError(f"{where}: unknown period: use {', '.join(PERIODS)}")
            if not isinstance(limits, dict) or not limits or not set(limits) <= {"warn", "fail"}:
                raise BudgetConfigError(f"{where}: expected {{ warn = N, fail = N }} (either or both)")
            warn, fail = (_limit(where, kind, limits.get(kind)) for kind in ("warn", "fail"))
            if warn is not None and fail is not None and warn > fail:
                raise BudgetConfigError(f"{where}: warn {warn:g} is above fail {fail:g}")
            budgets.append(Budget(scope, name, period, warn, fail))

    for scope, entries in data.items():
        if scope == "total":
            add("total", None, entries)
        elif scope in SCOPES and isinstance(entries, dict) and entries:
            for name, periods in entries.items():
                add(scope, str(name), periods)
        else:
            raise BudgetConfigError(
                f"{path}: [{scope}] is not a budget section: use [total], "
                + ", ".join(f"[{s}.NAME]" for s in SCOPES)
            )
    if not budgets:
        raise BudgetConfigError(f"{path} defines no budgets (see modelmeter check --help)")
    return budgets


def _limit(where: str, kind: str, value: object) -> float | None:
    """A limit in USD: a number at or above zero (TOML booleans are not numbers here)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BudgetConfigError(f"{where}: {kind} = {value!r} is not a number of USD")
    if not math.isfinite(value) or value < 0:
        raise BudgetConfigError(f"{where}: {kind} = {value!r} must be a finite amount of zero or more USD")
    return float(value)


def period_start(period: str, at: datetime) -> datetime:
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def period_end(period: str, start: datetime) -> datetime:
    if period == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start + PERIODS[period]


def check_budgets(con: duckdb.DuckDBPyConnection, budgets: list[Budget], at: datetime) -> list[BudgetCheck]:
    """Spend so far and forecast for every budget, in one aggregate query over the calls before `at`."""
    if not budgets:
        return []
    columns: list[str] = []
    args: dict[str, Any] = {"at": at}
    earliest = at
    for i, budget in enumerate(budgets):
        start = period_start(budget.period, at)
        trailing = at - PERIODS[budget.period]
        earliest = min(earliest, start, trailing)
        match = "TRUE" if budget.name is None else f"{budget.scope} = $name_{i}"
        if budget.name is not None:
            args[f"name_{i}"] = budget.name
        args[f"start_{i}"], args[f"trailing_{i}"] = start, trailing
        columns += [
            f"coalesce(sum(cost_usd) FILTER (WHERE {match} AND start_time >= $start_{i}), 0)::DOUBLE"
            f" AS spent_{i}",
            f"count(*) FILTER (WHERE {match} AND start_time >= $start_{i}) AS calls_{i}",
            f"coalesce(sum(cost_usd) FILTER (WHERE {match} AND start_time >= $trailing_{i}), 0)::DOUBLE"
            f" AS trailing_{i}",
        ]
    args["earliest"] = earliest
    row = fetch_row(
        con,
        f"SELECT {', '.join(columns)} FROM calls WHERE start_time >= $earliest AND start_time < $at",
        args,
    )
    results = []
    for i, budget in enumerate(budgets):
        start = period_start(budget.period, at)
        end = period_end(budget.period, start)
        spent = float(row[f"spent_{i}"])
        rate = float(row[f"trailing_{i}"]) / PERIODS[budget.period].total_seconds()
        projected = spent + rate * max(0.0, (end - at).total_seconds())
        status, reason = _judge(budget, spent, projected, int(row[f"calls_{i}"]))
        results.append(
            BudgetCheck(budget, start, end, spent, projected, int(row[f"calls_{i}"]), status, reason)
        )
    return results


def _judge(budget: Budget, spent: float, projected: float, calls: int) -> tuple[Status, str]:
    if budget.fail is not None and spent >= budget.fail:
        return "fail", f"spent {spent:,.2f} USD, at or above the fail limit {budget.fail:,.2f}"
    if budget.warn is not None and spent >= budget.warn:
        return "warn", f"spent {spent:,.2f} USD, at or above the warn limit {budget.warn:,.2f}"
    if calls == 0 and budget.name is not None:
        return "no-calls", f"no calls for {budget.scope} {budget.name} this {budget.period}: a typo, or idle?"
    for kind, limit in (("fail", budget.fail), ("warn", budget.warn)):
        if limit is not None and projected >= limit:
            return (
                "warn",
                f"forecast {projected:,.2f} USD by the end of the {budget.period} "
                f"reaches the {kind} limit {limit:,.2f}",
            )
    return "ok", f"spent {spent:,.2f} USD, forecast {projected:,.2f}"


def overall(checks: list[BudgetCheck]) -> Literal["ok", "warn", "fail"]:
    """The worst status; a budget with no calls counts as a warning (it may be silently off)."""
    statuses = {check.status for check in checks}
    if "fail" in statuses:
        return "fail"
    return "warn" if statuses & {"warn", "no-calls"} else "ok"
