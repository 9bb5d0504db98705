"""The weekly page's data: one grouped aggregate of the week plus latency histograms, read once each.

Every section of the weekly page (cost, inventory, failover, tiers, the counts of latency and
compare) is a sum over the same small table: calls grouped by day, the attribution columns and a few
yes/no flags (status, 429, usage known, priced, ...). Grouping by a flag instead of counting under a
FILTER lets one scan answer every "how many calls with X" question, and the result stays a few
thousand rows however many calls there are. Percentiles come from log-bucket histograms
(`histogram.py`) of the successful calls per workflow, model, provider, route and gateway.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from modelmeter.reports import histogram
from modelmeter.reports import measures as m
from modelmeter.reports.params import ReportParams, scope_of
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
    "spend_sq": "sum(cost_usd::DOUBLE * cost_usd::DOUBLE)",  # for the spread of cost per call (compare)
    "reported_usd": "sum(reported_cost_usd)",
    "input_tokens": "sum(input_tokens)",
    "output_tokens": "sum(output_tokens)",
    "io_tokens": "sum(input_tokens + output_tokens)",
    "cache_read_tokens": "sum(cache_read_tokens)",
    "cache_write_tokens": "sum(cache_write_tokens)",
    "last_seen": "max(start_time)",
}


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
    scope = scope_of(params)
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
        .with_columns(
            # exact DECIMAL sums in DuckDB, floats from here on (as the headline SQL casts them)
            pl.col("spend_usd", "reported_usd").cast(pl.Float64),
            pl.col(
                "input_tokens", "output_tokens", "io_tokens", "cache_read_tokens", "cache_write_tokens"
            ).cast(pl.Int64),
        )
    )
    durations, ttfts = _histograms(con, params, calls.select(LATENCY_KEYS).unique())
    return WeekRollup(calls, durations, ttfts)


def _histograms(
    con: duckdb.DuckDBPyConnection, params: ReportParams, groups: pl.DataFrame
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
        scope = scope_of(params).and_(where)
        frame = fetch(
            con,
            f"SELECT {keys}, {histogram.bucket_sql(column)} AS {histogram.BUCKET}, "
            f"count(*) AS {histogram.COUNT} FROM calls WHERE {scope.where} GROUP BY ALL",
            scope.args,
        )
        if by_hash:
            frame = frame.join(hashed, on="key_hash").drop("key_hash")
        return frame.select(*LATENCY_KEYS, histogram.BUCKET, histogram.COUNT)

    return counts("duration_ms", m.OK), counts("ttft_ms", f"{m.OK} AND ttft_ms IS NOT NULL")
