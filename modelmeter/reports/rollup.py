"""The weekly page's data: one grouped aggregate of the week plus latency histograms, read once each.

Every section of the weekly page (cost, inventory, failover, tiers, the counts of latency and
compare) is a sum over the same small table: calls grouped by day, the attribution columns and a few
yes/no flags (status, 429, usage known, priced, ...). Grouping by a flag instead of counting under a
FILTER lets one scan answer every "how many calls with X" question, and the result stays a few
thousand rows however many calls there are. Percentiles come from log-bucket histograms
(`histogram.py`) of the successful calls per workflow, model, provider, route and gateway.

The same sums and histograms per day are the lake's daily rollups (`DAILY_SQL`: plain SQL that
DuckDB and Spark SQL both run, modelmeter/lake/rollup.py). On a connection opened on a lake, whole
days of the window are read from those rollups and only the rest from raw calls: the sums add up and
the histograms merge, so the result is the same as from the calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb
import polars as pl

from modelmeter.reports import histogram
from modelmeter.reports import measures as m
from modelmeter.reports.params import ReportParams, Scope, scope_of
from modelmeter.reports.source import DAY_NUMBER, fetch

KEYS = (
    "workflow",
    "tier",
    "provider",
    "model",
    "route",
    "gateway",
    "key_fingerprint",
    "auth_kind",
    "operation",
)
# the histograms' groups: the finest level latency and compare need
LATENCY_KEYS = ["workflow", "model", "provider", "route", "gateway"]
_FLAGS = {
    "status": "status",
    "rate_limited": "coalesce(http_status = 429, false)",
    "usage_known": "coalesce(usage_known, false)",
    "truncated": "coalesce(truncated, false)",
    "fallback": "fallback_from IS NOT NULL",
    "priced": m.PRICED,
    "reported": "reported_cost_usd IS NOT NULL",
}
_SUMS = {
    "calls": "count(*)",
    "spend_usd": "sum(cost_usd)",
    # for the spread of cost per call (compare)
    "spend_sq": "sum(CAST(cost_usd AS DOUBLE) * CAST(cost_usd AS DOUBLE))",
    "reported_usd": "sum(reported_cost_usd)",
    "input_tokens": "sum(input_tokens)",
    "output_tokens": "sum(output_tokens)",
    "io_tokens": "sum(input_tokens + output_tokens)",
    "cache_read_tokens": "sum(cache_read_tokens)",
    "cache_write_tokens": "sum(cache_write_tokens)",
    "last_seen": "max(start_time)",
}
# The daily rollup: one text for DuckDB and Spark SQL, over `calls` with a `day` column (the lake's
# day partition, a DATE).
DAILY_SQL = (
    f"SELECT day, {', '.join(KEYS)}, {', '.join(f'{sql} AS {name}' for name, sql in _FLAGS.items())}, "
    f"{', '.join(f'{sql} AS {name}' for name, sql in _SUMS.items())} "
    f"FROM calls GROUP BY day, {', '.join(KEYS)}, {', '.join(_FLAGS.values())}"
)


def daily_histogram_sql(column: str, where: str) -> str:
    """The daily histogram of `column` over `calls` where `where` holds (DuckDB and Spark SQL)."""
    bucket = histogram.bucket_sql(column)
    return (
        f"SELECT day, {', '.join(LATENCY_KEYS)}, {bucket} AS {histogram.BUCKET}, "
        f"count(*) AS {histogram.COUNT} "
        f"FROM calls WHERE {where} GROUP BY day, {', '.join(LATENCY_KEYS)}, {bucket}"
    )


DAILY_HISTOGRAMS = {
    "durations": daily_histogram_sql("duration_ms", m.OK),
    "ttfts": daily_histogram_sql("ttft_ms", f"{m.OK} AND ttft_ms IS NOT NULL"),
}
SUM_TYPES: dict[str, pl.DataType] = {
    "calls": pl.Int64(),
    "spend_usd": pl.Float64(),
    "spend_sq": pl.Float64(),
    "reported_usd": pl.Float64(),
    **{name: pl.Int64() for name in ("input_tokens", "output_tokens", "io_tokens")},
    **{name: pl.Int64() for name in ("cache_read_tokens", "cache_write_tokens")},
    "last_seen": pl.Datetime("us", "UTC"),
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# a connection opened on a lake has the valid daily rollups as these views (modelmeter/lake/read.py)
ROLLUP_VIEWS = {"calls": "rollup_calls", "durations": "rollup_durations", "ttfts": "rollup_ttfts"}


# conditions on the flags, for polars (NULL status matches neither, as in SQL)
OK = pl.col("status") == "ok"
ERROR = pl.col("status") == "error"


def calls_where(condition: pl.Expr, column: str = "calls") -> pl.Expr:
    """Aggregation: the sum of `column` over the rollup rows where `condition` holds."""
    return pl.col(column).filter(condition).sum()


@dataclass(frozen=True, slots=True)
class WeekRollup:
    """Aggregates of the calls in scope; every frame is small whatever the number of calls."""

    calls: pl.DataFrame  # day x KEYS x flags: the _SUMS
    durations: pl.DataFrame  # LATENCY_KEYS x bucket: count of successful calls by duration_ms
    ttfts: pl.DataFrame  # LATENCY_KEYS x bucket: count of successful streamed calls by ttft_ms

    def total(self) -> int:
        return int(self.calls["calls"].sum() or 0)


def build_rollup(con: duckdb.DuckDBPyConnection, params: ReportParams) -> WeekRollup:
    """The window's rollup: from the lake's daily rollups for whole days they cover, else from calls."""
    scope = scope_of(params)
    days = _rolled_days(con, params)
    if not days:
        return _from_calls(con, scope)
    rest = _from_calls(con, _outside(scope, params, days))
    in_scope = pl.col("day").is_in(days)
    for column, values in params.filters.items():
        in_scope &= pl.col(column).is_in(list(values))

    def rolled(kind: str) -> pl.DataFrame:
        first, last = (_EPOCH.date() + timedelta(days=d) for d in (min(days), max(days)))
        frame = con.sql(
            f"SELECT * FROM {ROLLUP_VIEWS[kind]} WHERE day BETWEEN $first AND $last",
            params={"first": first, "last": last},
        ).pl()
        return frame.with_columns(pl.col("day").cast(pl.Date).cast(pl.Int64)).filter(in_scope)

    calls = pl.concat([rest.calls, rolled("calls").select(rest.calls.columns).cast(rest.calls.schema)])

    def merged(kind: str, raw: pl.DataFrame) -> pl.DataFrame:
        daily = rolled(kind).drop("day").cast(raw.schema)
        together = pl.concat([raw, daily.select(raw.columns)])
        return together.group_by(*LATENCY_KEYS, histogram.BUCKET).agg(pl.col(histogram.COUNT).sum())

    return WeekRollup(calls, merged("durations", rest.durations), merged("ttfts", rest.ttfts))


def _rolled_days(con: duckdb.DuckDBPyConnection, params: ReportParams) -> list[int]:
    """Day numbers of the window that a lake's daily rollups cover whole (none on a DuckDB file).

    A day counts when it starts inside the window and either ends inside it or has no call after
    its end (the rollup's last call is before `until`). The rollups have no `team`: a team filter
    reads calls.
    """
    views = {row[0] for row in con.sql("SELECT view_name FROM duckdb_views()").fetchall()}
    if ROLLUP_VIEWS["calls"] not in views or params.filters.get("team"):
        return []
    rows = con.sql(
        f"SELECT day, max(last_seen) AS last FROM {ROLLUP_VIEWS['calls']} GROUP BY day ORDER BY day"
    ).fetchall()
    days = []
    for day, last in rows:
        start = _EPOCH + timedelta(days=(day - _EPOCH.date()).days)
        starts_inside = params.since is None or start >= params.since
        ends_inside = params.until is None or start + timedelta(days=1) <= params.until or last < params.until
        if starts_inside and ends_inside:
            days.append((day - _EPOCH.date()).days)
    return days


def _outside(scope: Scope, params: ReportParams, days: list[int]) -> Scope:
    """`scope` minus the rolled-up days, as plain time ranges (which DuckDB checks against row-group
    statistics, so the rolled-up days are mostly not read at all)."""
    edges: list[tuple[datetime | None, datetime | None]] = []
    lower = params.since
    for day in sorted(days):
        start = _EPOCH + timedelta(days=day)
        if lower is None or lower < start:
            edges.append((lower, start))
        lower = start + timedelta(days=1)
    if params.until is None or lower is None or lower < params.until:
        edges.append((lower, params.until))
    ranges, args = [], {}
    for index, (low, high) in enumerate(edges):
        parts = []
        if low is not None:
            parts.append(f"start_time >= $rest_from_{index}")
            args[f"rest_from_{index}"] = low
        if high is not None:
            parts.append(f"start_time < $rest_to_{index}")
            args[f"rest_to_{index}"] = high
        ranges.append(" AND ".join(parts) or "TRUE")
    return scope.and_(" OR ".join(f"({r})" for r in ranges) or "FALSE", **args)


def _from_calls(con: duckdb.DuckDBPyConnection, scope: Scope) -> WeekRollup:
    flags = ", ".join(f"{sql} AS {name}" for name, sql in _FLAGS.items())
    sums = ", ".join(f"{sql} AS {name}" for name, sql in _SUMS.items())
    # Grouping by the nine strings costs a third more than by two 64-bit hashes of them (taken in
    # opposite orders, so they are independent): the strings come back as the first of each group.
    # Two tuples of keys would have to share both hashes to be merged, a chance of about
    # n^2 / 2^129 for n distinct tuples.
    calls = (
        fetch(
            con,
            f"""
            SELECT {DAY_NUMBER} AS day, hash({", ".join(KEYS)}) AS key_hash,
              hash({", ".join(reversed(KEYS))}) AS key_check, {flags}, {sums},
              first(struct_pack({", ".join(KEYS)})) AS keys
            FROM calls WHERE {scope.where}
            GROUP BY day, key_hash, key_check, {", ".join(_FLAGS)}
            """,
            scope.args,
        )
        .unnest("keys")
        .drop("key_hash", "key_check")
        # exact DECIMAL sums in DuckDB, floats from here on (as the headline SQL casts them)
        .cast(SUM_TYPES)  # type: ignore[arg-type]
    )
    durations, ttfts = _histograms(con, scope, calls.select(LATENCY_KEYS).unique())
    return WeekRollup(calls, durations, ttfts)


def _histograms(
    con: duckdb.DuckDBPyConnection, scope: Scope, groups: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Duration and TTFT histograms of successful calls (one scan each: cheaper than GROUPING SETS).

    The scans group by a 64-bit hash of the five string keys (several times cheaper than the strings
    themselves) and the strings come back from `groups`, the distinct keys of the grouped aggregate,
    hashed by DuckDB the same way. Should two of them share a hash, they group by the strings instead.
    """
    key_hash = f"hash({', '.join(LATENCY_KEYS)})"
    hashed = con.from_arrow(groups.to_arrow()).select(f"*, {key_hash} AS key_hash").pl()
    by_hash = hashed["key_hash"].n_unique() == hashed.height
    keys = f"{key_hash} AS key_hash" if by_hash else ", ".join(LATENCY_KEYS)

    def counts(column: str, where: str) -> pl.DataFrame:
        narrower = scope.and_(where)
        frame = fetch(
            con,
            f"SELECT {keys}, {histogram.bucket_sql(column)} AS {histogram.BUCKET}, "
            f"count(*) AS {histogram.COUNT} FROM calls WHERE {narrower.where} GROUP BY ALL",
            narrower.args,
        )
        if by_hash:
            frame = frame.join(hashed, on="key_hash").drop("key_hash")
        return frame.select(*LATENCY_KEYS, histogram.BUCKET, histogram.COUNT)

    return counts("duration_ms", m.OK), counts("ttft_ms", f"{m.OK} AND ttft_ms IS NOT NULL")
