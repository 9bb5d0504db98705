"""Log-bucket histograms: their percentiles stay within the stated error, and exact_quantiles is exact."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from modelmeter.reports import histogram
from modelmeter.reports.params import Scope

QS = (0.01, 0.5, 0.9, 0.95, 0.99)


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A `calls` table of durations with the awkward cases: ties, zeros, NULLs and a long tail."""
    rng = np.random.default_rng(11)
    values = np.concatenate(
        [rng.lognormal(7, 1.2, 20_000), np.full(3_000, 1200.0), np.zeros(50), rng.uniform(0, 1e-4, 20)]
    )
    rows = [float(v) for v in values] + [None] * 100
    frame = pl.DataFrame(
        {"grp": ["a" if i % 3 else "b" for i in range(len(rows))], "duration_ms": rows},
        schema={"grp": pl.String, "duration_ms": pl.Float64},
    )
    connection = duckdb.connect(str(tmp_path / "h.duckdb"))
    connection.from_arrow(frame.to_arrow()).create("calls")
    yield connection
    connection.close()


def counts(con: duckdb.DuckDBPyConnection, where: str = "TRUE") -> tuple[np.ndarray, np.ndarray]:
    frame = con.sql(
        f"SELECT {histogram.bucket_sql('duration_ms')} AS b, count(*) AS n FROM calls "
        f"WHERE duration_ms IS NOT NULL AND {where} GROUP BY b ORDER BY b"
    ).pl()
    return frame["b"].to_numpy(), frame["n"].to_numpy()


def test_a_histogram_percentile_is_within_the_relative_error_of_quantile_disc(
    con: duckdb.DuckDBPyConnection,
) -> None:
    buckets, n = counts(con)
    for q in QS:
        exact = con.sql(f"SELECT quantile_disc(duration_ms, {q}) FROM calls").fetchall()[0][0]
        approximate = histogram.quantile(buckets, n, q)
        assert approximate is not None
        assert abs(approximate - max(exact, histogram.FLOOR)) <= histogram.RELATIVE_ERROR * max(
            exact, histogram.FLOOR
        ), q


@pytest.mark.parametrize("near_cap", [histogram.MAX_NEAR_VALUES, 0])
def test_exact_quantiles_equal_quantile_cont_per_group_even_on_ties(
    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch, near_cap: int
) -> None:
    monkeypatch.setattr(histogram, "MAX_NEAR_VALUES", near_cap)  # 0: every target computed by DuckDB
    targets, expected = [], []
    for where, rows in (("TRUE", pl.lit(True)), ("grp = 'b'", pl.col("grp") == "b")):
        buckets, n = counts(con, where)
        for q in QS:
            targets.append(histogram.Target("duration_ms", q, buckets, n, where, rows))
            expected.append(
                con.sql(f"SELECT quantile_cont(duration_ms, {q}) FROM calls WHERE {where}").fetchall()[0][0]
            )
    got = histogram.exact_quantiles(con, Scope("TRUE", {}), targets, ["grp"])
    for value, truth, target in zip(got, expected, targets, strict=True):
        assert value is not None and math.isclose(value, truth, rel_tol=1e-12, abs_tol=1e-12), (
            target.q,
            value,
        )
