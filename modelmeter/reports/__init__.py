"""Reports: pure functions from the `calls` table and parameters to a `Report` (data); see render/ for output.

con = open_db(path)                        # read-only DuckDB connection (checks the DB is usable)
report = build_report("cost", con, ReportParams(since=..., filters={"workflow": ("triage",)}))
text = render(report, "md")                # or table / html / json; write_tables for csv / parquet
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from modelmeter.reports import compare, cost, failover, inventory, latency, plan, tiers, weekly
from modelmeter.reports.model import Chart, Headline, Report, Table
from modelmeter.reports.params import ReportParams
from modelmeter.reports.source import ReportDataError, default_db_path, not_recorded_note, open_db

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
    if report.based_on == 0:
        report.notes.insert(0, "No calls match this window and these filters: every count is zero.")
    if missing := not_recorded_note(con, params or ReportParams()):
        report.notes.insert(0, missing)
    return report


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
