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

from modelmeter.reports import compare, cost, failover, inventory, latency, tiers, weekly
from modelmeter.reports.model import Chart, Headline, Report, Table
from modelmeter.reports.params import ReportParams
from modelmeter.reports.source import ReportDataError, default_db_path, open_db

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
    return report


def settle_money(report: Report) -> None:
    """Round every USD amount to the stored precision (10 decimals), in place.

    Sums and differences of float amounts carry noise such as -2.2e-16 for what is exactly zero;
    `cost_usd` is DECIMAL(18,10), so nothing finer than 1e-10 USD is real. Adding 0.0 turns -0.0 to 0.0.
    """
    report.headlines = [
        replace(h, value=round(h.value, MONEY_DECIMALS) + 0.0)
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
            frame = table.frame.with_columns(pl.col(money).round(MONEY_DECIMALS) + 0.0)
            report.tables[index] = replace(table, frame=frame)


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
