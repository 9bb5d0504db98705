"""The daily rollup has one definition and two engines: DuckDB and Spark (local[2]) must agree exactly."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from support.synthetic_calls import create_database

from modelmeter.lake.location import Lake
from modelmeter.lake.read import DayFiles
from modelmeter.lake.rollup import KINDS, DuckDBEngine, Engine, roll_up
from modelmeter.lake.write import export

ROWS = 100_000


@pytest.fixture(scope="module")
def big_lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """100k synthetic calls (retries, outages, gateways, unpriced models...) in a lake: 7 days, one job."""
    directory = tmp_path_factory.mktemp("parity")
    create_database(str(directory / "synthetic.duckdb"), ROWS, days=7).close()
    lake = Lake.at(directory / "lake")
    export(directory / "synthetic.duckdb", lake, directory)
    # a second writer's later copy of half of one day's spans, with another cost: both engines must
    # keep one row per span, the latest ingested
    day_file = lake.files("calls")[3]
    con = lake.connect()
    con.execute(
        f"COPY (SELECT * REPLACE (ingested_at + INTERVAL 1 HOUR AS ingested_at, cost_usd * 2 AS cost_usd) "
        f"FROM read_parquet('{lake.url(day_file)}') WHERE hash(span_id) % 2 = 0) "
        f"TO '{lake.url(day_file.rsplit('/', 1)[0] + '/part-other-writer.parquet')}' (FORMAT parquet)"
    )
    return lake


def _rollups(lake: Lake, engine: Engine, into: Path) -> dict[str, pl.DataFrame]:
    """Every day's rollups as `engine` writes them, into a copy of the lake's raw files."""
    copy = Lake.at(into)
    for table in ("calls", "attempts"):
        for relative in lake.files(table):
            copy.put(Path(lake.url(relative)), relative)
    result = roll_up(copy, engine, days=list(DayFiles.of(copy, "calls").by_day))
    assert len(result.rolled) == 7
    return {kind: pl.read_parquet([copy.url(f) for f in copy.files(f"rollups/{kind}")]) for kind in KINDS}


def _rollups_without_the_copy(lake: Lake, into: Path) -> dict[str, pl.DataFrame]:
    copy = Lake.at(into)
    for relative in lake.files("calls"):
        if not relative.endswith("part-other-writer.parquet"):
            copy.put(Path(lake.url(relative)), relative)
    roll_up(copy, DuckDBEngine(), days=list(DayFiles.of(copy, "calls").by_day))
    return {kind: pl.read_parquet([copy.url(f) for f in copy.files(f"rollups/{kind}")]) for kind in KINDS}


@pytest.mark.slow
@pytest.mark.timeout(600)  # Spark on a shared 2-core machine: about a minute alone, several under load
def test_duckdb_and_spark_write_identical_daily_rollups(
    big_lake: Lake, spark_engine: Engine, tmp_path: Path
) -> None:
    duckdb_rollups = _rollups(big_lake, DuckDBEngine(), tmp_path / "duckdb")
    spark_rollups = _rollups(big_lake, spark_engine, tmp_path / "spark")
    assert int(duckdb_rollups["calls"]["calls"].sum()) == ROWS  # each span once
    plain = _rollups_without_the_copy(big_lake, tmp_path / "plain")
    assert duckdb_rollups["calls"]["spend_usd"].sum() > plain["calls"]["spend_usd"].sum()  # the later copy
    for kind in KINDS:
        ours, theirs = duckdb_rollups[kind], spark_rollups[kind]
        assert ours.height > 100
        # every column, same types and order; floats (sums of DECIMAL cost, squared) within 1e-12 relative
        assert_frame_equal(ours, theirs, check_exact=False, rel_tol=1e-12, abs_tol=0)
        integers = [c for c, t in ours.schema.items() if not t.is_float()]
        assert ours.select(integers).equals(theirs.select(integers))


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_rollup_command_on_spark_feeds_the_reports(spool: Path, policy: Path, tmp_path: Path) -> None:
    from support.lake import assert_reports_equal, run_cli

    lake, db = tmp_path / "lake", tmp_path / "calls.duckdb"
    assert run_cli("ingest", spool, "--lake", lake, "-q").returncode == 0
    assert run_cli("ingest", spool, "--db", db, "-q").returncode == 0
    out = run_cli("rollup", "--lake", lake, "--engine", "spark", "--master", "local[1]")
    assert out.returncode == 0 and "rolled up 10 day(s) with spark" in out.stderr, out.stderr
    assert len(Lake.at(lake).files("rollups/calls")) == 10
    assert_reports_equal(lake, db, policy, kinds=("weekly",))
