"""Reports: pure functions from the `calls` table and parameters to a `Report` (data); see render/ for output.

con = open_db(path)                        # read-only DuckDB connection (checks the DB is usable)
report = build_report("cost", con, ReportParams(since=..., filters={"workflow": ("triage",)}))
text = render(report, "md")                # or table / html / json; write_tables for csv / parquet
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import duckdb
import polars as pl

from modelmeter.reports import compare, cost, failover, inventory, latency, plan, tiers, weekly
from modelmeter.reports.model import Chart, Headline, Report, Table
from modelmeter.reports.params import ReportParams
from modelmeter.reports.source import ReportDataError, default_db_path, not_recorded_note, open_db

MONEY_DECIMALS = 10  # the scale of cost_usd and reported_cost_usd (DECIMAL(18,10))

Builder = Callable[[duckdb.DuckDBPyConnection, ReportParams], Report]

REPORTS: dict[str, Builder] = {
    "inventory": inventory.build,
    "cost": cost.build,
    "latency": latency.build,
    "failover": failover.build,
    "compare": compare.build,
    "tiers": tiers.build,
    "weekly": weekly.build,
    "plan": plan.build,
}


def build_report(kind: str, con: duckdb.DuckDBPyConnection, params: ReportParams | None = None) -> Report:
    """Run the report `kind` (one of REPORTS) over `con`'s `calls` table."""
    try:
        builder = REPORTS[kind]
    except KeyError:
        raise ValueError(f"unknown report {kind!r}: choose from {', '.join(REPORTS)}") from None
    report = builder(con, params or ReportParams())
    settle_money(report)
    if report.based_on == 0:
        report.notes.insert(0, "No calls match this window and these filters: every count is zero.")
    if missing := not_recorded_note(con, params or ReportParams()):
        report.notes.insert(0, missing)
    return report


def settle_money(report: Report) -> None:
    """Clear float noise from every USD amount, in place (machine formats then show what is real).

    Float sums and differences of amounts carry noise such as -2.2e-16 for an exact zero or
    0.00997529999999999 for 0.0099753. `cost_usd` is DECIMAL(18,10): a total or a difference of
    amounts has at most 10 decimals, so it is rounded there; an amount per unit (`_per_` in its
    name: per call, per 1k tokens) keeps 15 significant digits, and under 1e-10 USD is zero.
    """
    report.headlines = [
        replace(h, value=settled(h.value, "_per_" in h.key))
        if h.unit == "usd" and isinstance(h.value, float)
        else h
        for h in report.headlines
    ]
    for index, table in enumerate(report.tables):
        money = [
            name
            for name, dtype in table.frame.schema.items()
            if (name.endswith("_usd") or "_usd_" in name) and dtype.is_float()
        ]
        if money:
            frame = table.frame.with_columns(
                pl.Series(
                    name,
                    [None if v is None else settled(v, "_per_" in name) for v in table.frame[name].to_list()],
                    pl.Float64,
                )
                for name in money
            )
            report.tables[index] = replace(table, frame=frame)


def settled(amount: float, per_unit: bool = False) -> float:
    """`amount` without float noise: a total at 10 decimals, an amount per unit at 15 digits."""
    if abs(amount) < 0.5 * 10**-MONEY_DECIMALS:
        return 0.0
    return float(f"{amount:.15g}") if per_unit else round(amount, MONEY_DECIMALS) + 0.0


__all__ = [
    "REPORTS",
    "Chart",
    "Headline",
    "Report",
    "ReportDataError",
    "ReportParams",
    "Table",
    "build_report",
    "default_db_path",
    "open_db",
]
