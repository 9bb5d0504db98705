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
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import duckdb

from modelmeter.reports.source import fetch_row, home_dir

SCOPES = ("workflow", "team", "provider")
PERIODS = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=30)}
Status = Literal["ok", "warn", "fail"]
EXIT_CODES: dict[Status, int] = {"ok": 0, "warn": 1, "fail": 2}


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
    """Parse a budgets file; raises ValueError naming the file and the bad entry."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"cannot read budgets {path}: {exc}") from exc
    budgets: list[Budget] = []

    def add(scope: str, name: str | None, periods: object) -> None:
        if not isinstance(periods, dict):
            raise ValueError(f"{path}: [{scope}{'.' + name if name else ''}] must be a table of periods")
        for period, limits in periods.items():
            if (
                period not in PERIODS
                or not isinstance(limits, dict)
                or not set(limits) <= {"warn", "fail"}
                or not limits
            ):
                raise ValueError(
                    f"{path}: {scope} {name or ''} {period}: "
                    "expected day|week|month = { warn = N, fail = N }"
                )
            budgets.append(Budget(scope, name, period, limits.get("warn"), limits.get("fail")))

    for scope, entries in data.items():
        if scope == "total":
            add("total", None, entries)
        elif scope in SCOPES and isinstance(entries, dict):
            for name, periods in entries.items():
                add(scope, str(name), periods)
        else:
            raise ValueError(f"{path}: unknown section [{scope}]: use total, {', '.join(SCOPES)}")
    return budgets


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
        status, reason = _judge(budget, spent, projected)
        results.append(
            BudgetCheck(budget, start, end, spent, projected, int(row[f"calls_{i}"]), status, reason)
        )
    return results


def _judge(budget: Budget, spent: float, projected: float) -> tuple[Status, str]:
    if budget.fail is not None and spent >= budget.fail:
        return "fail", f"spent {spent:,.2f} USD, at or above the fail limit {budget.fail:,.2f}"
    if budget.warn is not None and spent >= budget.warn:
        return "warn", f"spent {spent:,.2f} USD, at or above the warn limit {budget.warn:,.2f}"
    for kind, limit in (("fail", budget.fail), ("warn", budget.warn)):
        if limit is not None and projected >= limit:
            return (
                "warn",
                f"forecast {projected:,.2f} USD by the end of the {budget.period} "
                f"reaches the {kind} limit {limit:,.2f}",
            )
    return "ok", f"spent {spent:,.2f} USD, forecast {projected:,.2f}"


def overall(checks: list[BudgetCheck]) -> Status:
    statuses = {check.status for check in checks}
    return "fail" if "fail" in statuses else "warn" if "warn" in statuses else "ok"
