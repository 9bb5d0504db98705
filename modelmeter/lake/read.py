"""Reading a lake: DuckDB views `calls` and `attempts` over the day partitions, one row per span.

A day written by one file holds each span once. A day with several files (two hosts, a re-run over a
grown spool, a compaction in progress) may hold a span twice, so its rows go through `DEDUPE_SQL`,
which keeps one row per `(trace_id, span_id)`; days with one file are read as they are, which lets
DuckDB skip row groups by their time statistics.
Valid daily rollups (see rollup.py) are attached as `rollup_calls`, `rollup_durations`, `rollup_ttfts`
for the reports to use in place of raw days.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import duckdb

from modelmeter.ingest.schema import span_columns
from modelmeter.lake.location import Lake

# one text for DuckDB and Spark SQL: the latest-ingested copy of each span of `{source}`
DEDUPE_SQL = """
SELECT {columns} FROM (
  SELECT *, row_number() OVER (PARTITION BY trace_id, span_id ORDER BY {newest}) AS copy_rank
  FROM {source}
) WHERE copy_rank = 1
"""
ATTEMPT_KEYS = [("call_trace_id", "VARCHAR"), ("call_span_id", "VARCHAR")]
NEWEST = {"calls": "ingested_at DESC", "attempts": "call_trace_id, call_span_id"}


@dataclass(frozen=True)
class DayFiles:
    """The raw files of each day of one table, as lake-relative paths."""

    by_day: dict[date, list[str]]

    @staticmethod
    def of(lake: Lake, table: str) -> DayFiles:
        by_day: dict[date, list[str]] = defaultdict(list)
        for relative in lake.files(table):
            part = relative.split("/")[1]  # TABLE/day=YYYY-MM-DD/name.parquet
            if part.startswith("day="):
                by_day[date.fromisoformat(part[4:])].append(relative)
        return DayFiles(dict(sorted(by_day.items())))


def union_sql(lake: Lake, table: str, days: DayFiles, *, hive: bool = False) -> str | None:
    """SQL over the days' files: plain reads of single-file days, deduplicated reads of the others."""
    single = [f for files in days.by_day.values() if len(files) == 1 for f in files]
    parts = []
    if single:
        parts.append(f"SELECT * FROM {read_files(lake, single, hive=hive)}")
    for files in days.by_day.values():
        if len(files) > 1:
            source = read_files(lake, files, hive=hive)
            parts.append(
                DEDUPE_SQL.format(columns="* EXCLUDE (copy_rank)", newest=NEWEST[table], source=source)
            )
    return " UNION ALL BY NAME ".join(f"({p})" for p in parts) if parts else None


def read_files(lake: Lake, files: list[str], *, hive: bool = False) -> str:
    """DuckDB: a read of these lake files (with their `day` partition as a column when `hive`)."""
    listed = ", ".join("'" + lake.url(f).replace("'", "''") + "'" for f in files)
    return f"read_parquet([{listed}], union_by_name = true, hive_partitioning = {str(hive).lower()})"


def attach_rollups(con: duckdb.DuckDBPyConnection, lake: Lake, days: list[date]) -> None:
    """Views over the current daily rollups of `days` (as reports/rollup.py names them), if any."""
    from modelmeter.lake.rollup import current_rollups
    from modelmeter.reports.rollup import ROLLUP_VIEWS

    found = current_rollups(lake, days)
    if not found["calls"]:
        return
    for kind, view in ROLLUP_VIEWS.items():
        con.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM {read_files(lake, found[kind])}")


def attach(con: duckdb.DuckDBPyConnection, lake: Lake) -> int:
    """Views `calls`, `attempts` and the current rollups over the lake; returns how many days it holds.

    Every day is listed (a report's window is only known to the report, which may also look at the
    period before it); DuckDB skips the row groups of single-file days outside a query's time range
    by their statistics.
    """
    calls = DayFiles.of(lake, "calls")
    sql = union_sql(lake, "calls", calls)
    if sql is None:
        return 0
    con.execute(f"CREATE OR REPLACE VIEW calls AS {sql}")
    attempts = union_sql(lake, "attempts", DayFiles.of(lake, "attempts"))
    if attempts is None:  # no retried call anywhere
        columns = ", ".join(f'"{n}" {t}' for n, t in [*ATTEMPT_KEYS, *span_columns()])
        con.execute(f"CREATE OR REPLACE TABLE attempts ({columns})")
    else:
        con.execute(f"CREATE OR REPLACE VIEW attempts AS {attempts}")
    attach_rollups(con, lake, list(calls.by_day))
    return len(calls.by_day)
