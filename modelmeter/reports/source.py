"""Where reports read from: the DuckDB file ingest writes, opened read-only, queried for aggregates only.

Every query a report runs groups in DuckDB and hands polars a small frame; no report fetches one row
per call (the compare report fetches capped per-group samples, bounded by `ReportParams.sample_cap`,
and the weekly page the few thousand values around each headline percentile).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from modelmeter.ingest.store import DamagedDatabase, connect_checked
from modelmeter.reports.params import ReportParams, scope_of


class ReportDataError(RuntimeError):
    """The database is missing, is not a modelmeter database, or holds no calls in scope."""


def default_db_path() -> Path:
    """MODELMETER_DB, else $MODELMETER_HOME/modelmeter.duckdb (MODELMETER_HOME defaults to ./.modelmeter)."""
    if explicit := os.environ.get("MODELMETER_DB"):
        return Path(explicit)
    return home_dir() / "modelmeter.duckdb"


def home_dir() -> Path:
    return Path(os.environ.get("MODELMETER_HOME", ".modelmeter"))


DEMO_DB = Path("modelmeter-demo") / "modelmeter.duckdb"


def find_db(start: Path | None = None) -> Path:
    """The database a notebook reads, wherever its kernel was started: MODELMETER_DB, else
    $MODELMETER_HOME/modelmeter.duckdb, else the demo's (modelmeter-demo/) in `start` or a parent,
    such as the repository root above notebooks/."""
    if os.environ.get("MODELMETER_DB") or os.environ.get("MODELMETER_HOME"):
        return default_db_path()
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / DEMO_DB).exists():
            return directory / DEMO_DB
    raise ReportDataError(
        f"no database: set MODELMETER_DB or MODELMETER_HOME, or run `modelmeter demo` in {here} or above"
    )


def open_db(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection in UTC, after checking that the file holds a non-empty `calls` table."""
    if not path.exists():
        raise ReportDataError(
            f"no database at {path}: run `modelmeter ingest` first, or point --db / MODELMETER_DB at one"
        )
    try:
        con = connect_checked(path, read_only=True)
    except DamagedDatabase as exc:
        raise ReportDataError(str(exc)) from exc
    except duckdb.Error as exc:
        raise ReportDataError(f"cannot open {path} as a DuckDB database: {exc}") from exc
    prepare(con)
    tables = {row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if "calls" not in tables:
        con.close()
        raise ReportDataError(f"{path} has no `calls` table: is it a modelmeter database?")
    if con.sql("SELECT count(*) FROM calls").fetchall() == [(0,)]:
        con.close()
        raise ReportDataError(
            f"{path} holds no calls yet: run your app instrumented, then `modelmeter ingest`"
        )
    return con


def open_lake(uri: str) -> duckdb.DuckDBPyConnection:
    """An in-memory connection whose `calls` and `attempts` are views over a lake, one row per span,
    with its current daily rollups attached (modelmeter/lake/read.py)."""
    from modelmeter.lake.location import Lake, LakeError
    from modelmeter.lake.read import attach

    try:
        lake = Lake.at(uri)
        con = lake.connect()
        days = attach(con, lake)
    except (LakeError, OSError, duckdb.Error) as exc:
        raise ReportDataError(f"cannot read the lake at {uri}: {exc}") from exc
    if not days:
        con.close()
        raise ReportDataError(f"the lake at {uri} holds no calls: run `modelmeter ingest --lake` first")
    return con


def known_values(con: duckdb.DuckDBPyConnection, column: str) -> list[str]:
    """Every value `column` takes in `calls`, sorted: what an unknown name is checked against."""
    rows = con.execute(f"SELECT DISTINCT {column}::VARCHAR FROM calls WHERE {column} IS NOT NULL").fetchall()
    return sorted(row[0] for row in rows)


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """Session settings every report relies on: UTC day and week boundaries, no progress bar on stdout."""
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")


# Grouping by an integer day is several times faster in DuckDB than date_trunc on a TIMESTAMPTZ
# (which goes through the time zone calendar); `as_day` turns the number back into a UTC timestamp.
DAY_NUMBER = "epoch_us(start_time) // 86400000000"


def as_day(column: str = "day") -> pl.Expr:
    """Polars expression: the day number `column` (days since 1970-01-01) as a UTC midnight timestamp."""
    return (pl.col(column) * 86_400_000_000).cast(pl.Datetime("us", "UTC")).alias(column)


def fetch(con: duckdb.DuckDBPyConnection, sql: str, args: dict[str, Any] | None = None) -> pl.DataFrame:
    """Run an aggregate query and return its (small) result as a polars frame."""
    return con.sql(sql, params=args or {}).pl()


def fetch_row(con: duckdb.DuckDBPyConnection, sql: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run a one-row aggregate query and return the row as a dict."""
    relation = con.sql(sql, params=args or {})
    rows = relation.fetchall()
    return dict(zip(relation.columns, rows[0] if rows else [None] * len(relation.columns), strict=True))


def resolve_window(con: duckdb.DuckDBPyConnection, params: ReportParams) -> ReportParams:
    """Fill in open ends of the window from the data (first call; just after the last call).

    Reports then state the exact window they cover, and relative periods (this week, the prior
    week) are anchored on the data rather than on the wall clock, so a report is reproducible.
    """
    if params.since is not None and params.until is not None:
        return params
    scope = scope_of(params)
    row = fetch_row(
        con,
        f"SELECT min(start_time) AS first, max(start_time) AS last FROM calls WHERE {scope.where}",
        scope.args,
    )
    since = params.since if params.since is not None else row["first"]
    until = params.until
    if until is None and row["last"] is not None:
        until = row["last"] + timedelta(microseconds=1)
    return params.with_window(since, until)


def not_recorded_note(con: duckdb.DuckDBPyConnection, params: ReportParams) -> str | None:
    """ "N calls were not recorded" when the shim counted dropped spans in the report's window
    (the `dropped` table, filled by ingest; a period that overlaps the window counts whole)."""
    tables = {row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if "dropped" not in tables:
        return None
    row = con.execute(
        "SELECT sum(count) FROM dropped WHERE (?::TIMESTAMPTZ IS NULL OR to_time >= ?::TIMESTAMPTZ) "
        "AND (?::TIMESTAMPTZ IS NULL OR from_time < ?::TIMESTAMPTZ)",
        [params.since, params.since, params.until, params.until],
    ).fetchall()
    missing = int(row[0][0] or 0)
    if not missing:
        return None
    return (
        f"{missing:,} calls were not recorded: the instrumentation had to drop them "
        "(full disk, unwritable spool or full queue), so counts and costs here are low."
    )
