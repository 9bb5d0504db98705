"""Log-bucket histograms: percentiles with a fixed relative error from one grouped count in DuckDB.

An exact percentile needs every value of its group sorted; the weekly page needs percentiles for
the whole week, per model and route, and per compared group, which would be one sort per level. A
histogram with geometric buckets serves them all from one `GROUP BY keys, bucket` count: value v > 0
falls in bucket b = ceil(ln v / ln GROWTH), i.e. (GROWTH^(b-1), GROWTH^b], and the bucket stands for
2 GROWTH^b / (GROWTH + 1), which is within RELATIVE_ERROR of every value in it. Counts add up across
groups, so coarser levels are sums of finer ones, and the result is deterministic.

The q-quantile taken from the counts is the representative of the bucket holding the k-th smallest
value, k = max(1, ceil(n q)): exactly the bucket of DuckDB's `quantile_disc(v, q)`, so it is within
RELATIVE_ERROR of that value. Where a percentile is a headline, `exact_quantiles` uses the histogram
only to find where it lies, and reads the few values there to return DuckDB's exact `quantile_cont`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import duckdb
import numpy as np
import polars as pl

from modelmeter.reports.params import Scope

GROWTH = 1.001  # bucket edges grow by 0.1%
RELATIVE_ERROR = (GROWTH - 1) / (GROWTH + 1)  # 0.05%: the representative vs any value in its bucket
FLOOR = 0.001  # values below (ms: under a microsecond) count as FLOOR, so ln stays finite
BUCKET = "bucket"
COUNT = "n"
APPROXIMATE = (
    f"Percentiles in the tables are approximate: read from log-bucket histograms, each within "
    f"{RELATIVE_ERROR:.2%} of the exact value (quantile_disc) of the calls it rests on; headline "
    "percentiles are exact."
)


def bucket_sql(column: str) -> str:
    """SQL: the bucket number of `column` (NULL stays NULL, which `greatest` would not keep)."""
    return f"ceil(ln(CASE WHEN {column} < {FLOOR} THEN {FLOOR} ELSE {column} END) / ln({GROWTH}))::INTEGER"


def representative(buckets: np.ndarray) -> np.ndarray:
    """The values buckets stand for: 2 GROWTH^b / (GROWTH + 1), within RELATIVE_ERROR of any value in b."""
    return 2 * np.power(GROWTH, buckets.astype(float)) / (GROWTH + 1)


def quantile(buckets: np.ndarray, counts: np.ndarray, q: float) -> float | None:
    """The q-quantile of a histogram given as buckets sorted ascending with their counts (None if empty)."""
    n = int(counts.sum())
    if n == 0:
        return None
    rank = max(1, math.ceil(n * q))
    return float(representative(buckets[np.searchsorted(np.cumsum(counts), [rank])])[0])


def quantiles(histogram: pl.DataFrame, by: list[str], qs: dict[str, float]) -> pl.DataFrame:
    """Per group of `by` (all rows when empty): the count of values and each named quantile.

    `histogram` has the `by` columns, BUCKET (NULL for NULL values, skipped) and COUNT.
    """
    known = histogram.filter(pl.col(BUCKET).is_not_null())
    groups = known.group_by(by) if by else [((), known)]
    rows = []
    for key, part in groups:
        merged = part.group_by(BUCKET).agg(pl.col(COUNT).sum()).sort(BUCKET)
        buckets, counts = merged[BUCKET].to_numpy(), merged[COUNT].to_numpy()
        rows.append(
            {
                **dict(zip(by, key, strict=True)),
                COUNT: int(counts.sum()),
                **{name: quantile(buckets, counts, q) for name, q in qs.items()},
            }
        )
    schema: dict[str, pl.DataType] = {name: histogram.schema[name] for name in by}
    schema |= {COUNT: pl.Int64(), **{name: pl.Float64() for name in qs}}
    return pl.DataFrame(rows, schema=schema)


# above this many values in the buckets around a percentile (values piled on one number), it is
# computed by DuckDB directly instead of fetching them
MAX_NEAR_VALUES = 200_000


@dataclass(frozen=True, slots=True)
class Target:
    """An exact percentile to find with the help of a histogram: `quantile_cont(column, q)` over the
    calls whose histogram is (`buckets`, `counts`), which `where` selects in SQL and `rows` in the
    fetched rows."""

    column: str
    q: float
    buckets: np.ndarray  # ascending
    counts: np.ndarray
    where: str  # SQL over `calls`, values as literals
    rows: pl.Expr


def exact_quantiles(
    con: duckdb.DuckDBPyConnection, scope: Scope, targets: list[Target], columns: list[str]
) -> list[float | None]:
    """The exact `quantile_cont` of each target, reading only the values near it.

    The histogram says which buckets hold the two order statistics quantile_cont interpolates
    between and how many values lie below them; one scan per column fetches the values of those
    buckets (a few thousand), and the order statistics are picked from them. `scope` selects the
    histogram's calls; `columns` are the extra columns the targets' `rows` expressions use.
    """
    spans: list[tuple[int, int, int] | None] = []  # (first bucket, last bucket, values below the first)
    direct: dict[int, float | None] = {}  # targets computed by DuckDB: no values, or too many near
    for index, target in enumerate(targets):
        n = int(target.counts.sum())
        cumulative = np.cumsum(target.counts)
        rank = (n - 1) * target.q
        first, last = (
            np.searchsorted(cumulative, [math.floor(rank) + 1, math.ceil(rank) + 1]) if n else (0, 0)
        )
        below = int(cumulative[first - 1]) if first else 0
        if n == 0 or int(cumulative[last]) - below > MAX_NEAR_VALUES:
            spans.append(None)
            direct[index] = None if n == 0 else _quantile_in_sql(con, scope, target)
            continue
        spans.append((int(target.buckets[first]), int(target.buckets[last]), below))
    # one scan per column, whose plain range conditions DuckDB checks inside the scan
    near: dict[str, pl.DataFrame] = {}
    for column in sorted({t.column for t, span in zip(targets, spans, strict=True) if span}):
        ranges = [
            _values_in(column, *span[:2])
            for t, span in zip(targets, spans, strict=True)
            if span and t.column == column
        ]
        near[column] = con.sql(
            f"SELECT {', '.join(columns)}, {column}, {bucket_sql(column)} AS {BUCKET} "
            f"FROM calls WHERE {scope.where} AND ({' OR '.join(ranges)})",
            params=scope.args,
        ).pl()
    values: list[float | None] = []
    for index, (target, span) in enumerate(zip(targets, spans, strict=True)):
        if span is None:
            values.append(direct[index])
            continue
        first, last, below = span
        rows = near[target.column].filter(target.rows & pl.col(BUCKET).is_between(first, last))
        ordered = np.sort(rows[target.column].to_numpy())
        rank = (int(target.counts.sum()) - 1) * target.q
        low, high = ordered[math.floor(rank) - below], ordered[math.ceil(rank) - below]
        values.append(float(low + (high - low) * (rank - math.floor(rank))))
    return values


def _values_in(column: str, first: int, last: int) -> str:
    """SQL: a plain range of `column` holding buckets first..last, a hair wider (no logarithm per row:
    the fetched rows' buckets are computed on them alone, and the few extra at the edges dropped)."""
    low, high = GROWTH ** (first - 1) * (1 - 1e-9), GROWTH**last * (1 + 1e-9)
    lower = f"{column} > {low!r} AND " if low > FLOOR * 1.01 else ""
    return f"({lower}{column} <= {high!r})"


def _quantile_in_sql(con: duckdb.DuckDBPyConnection, scope: Scope, target: Target) -> float | None:
    relation = con.sql(
        f"SELECT quantile_cont({target.column}, {target.q}) FROM calls "
        f"WHERE {scope.where} AND ({target.where})",
        params=scope.args,
    )
    return relation.fetchall()[0][0]


def sql_literal(value: str) -> str:
    """`value` as a SQL string literal (for the conditions of `Target.where`)."""
    return "'" + value.replace("'", "''") + "'"
