"""`ingest --lake`, `rollup`, `lake compact` and `report --lake` through the real CLI: each call once,
and every report's data equal to the report over a DuckDB file of the same calls."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.lake import assert_reports_equal, differences, normalised, report_data, run_cli

from modelmeter.lake.location import Lake
from modelmeter.lake.read import DayFiles
from modelmeter.reports.source import open_lake


@pytest.fixture(scope="module")
def reference(spool: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same spool ingested into a DuckDB file, the way every report is checked against."""
    db = tmp_path_factory.mktemp("reference") / "calls.duckdb"
    assert run_cli("ingest", spool, "--db", db, "-q").returncode == 0
    return db


def lake_rows(lake: Path | str) -> tuple[int, int]:
    """(rows, distinct spans) of the lake's calls files, read without deduplication."""
    files = [Lake.at(lake).url(f) for f in Lake.at(lake).files("calls")]
    con = Lake.at(lake).connect()
    row = con.execute(
        "SELECT count(*), count(DISTINCT (trace_id, span_id)) FROM read_parquet($files)", {"files": files}
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def test_the_same_spool_ingested_twice_replaces_files_and_counts_each_call_once(
    spool: Path, reference: Path, policy: Path, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    first = run_cli("ingest", spool, "--lake", lake)
    assert first.returncode == 0, first.stderr
    files = Lake.at(lake).files("calls")
    assert len(files) == len(DayFiles.of(Lake.at(lake), "calls").by_day) == 10  # one file per day
    again = run_cli("ingest", spool, "--lake", lake)
    assert again.returncode == 0, again.stderr
    assert Lake.at(lake).files("calls") == files  # replaced, not added
    assert lake_rows(lake) == (20_000, 20_000)
    assert_reports_equal(lake, reference, policy)


def test_two_writers_at_once_with_overlapping_spans_count_each_call_once(
    spool: Path, reference: Path, policy: Path, tmp_path: Path
) -> None:
    hosts = []
    spool_files = sorted(spool.iterdir())
    for host, picked in (("a", spool_files[:3]), ("b", spool_files[1:])):  # two files seen by both
        folder = tmp_path / f"spool-{host}"
        folder.mkdir()
        for path in picked:
            shutil.copy(path, folder / path.name)
        hosts.append(folder)
    lake = tmp_path / "lake"
    cli = str(Path(sys.executable).with_name("modelmeter"))
    writers = [subprocess.Popen([cli, "ingest", h, "--lake", lake, "-q"]) for h in hosts]
    assert [w.wait(timeout=300) for w in writers] == [0, 0]
    rows, spans = lake_rows(lake)
    assert spans == 20_000 and rows > spans  # the overlap is stored twice, read once
    assert_reports_equal(lake, reference, policy)

    # rollups (DuckDB), then compaction of one day: reports never change, the rollup of that day
    # goes stale and is redone
    rolled = run_cli("rollup", "--lake", lake)
    assert rolled.returncode == 0 and "rolled up 10 day(s)" in rolled.stderr, rolled.stderr
    assert_reports_equal(lake, reference, policy)
    day = "2026-11-10"
    before = DayFiles.of(Lake.at(lake), "calls").by_day
    assert len(before[date_of(day)]) == 2
    compacted = run_cli("lake", "compact", "--lake", lake, "--day", day)
    assert compacted.returncode == 0, compacted.stderr
    assert len(DayFiles.of(Lake.at(lake), "calls").by_day[date_of(day)]) == 1
    assert_reports_equal(lake, reference, policy)
    again = run_cli("rollup", "--lake", lake)
    assert "rolled up 1 day(s)" in again.stderr and "9 already current" in again.stderr, again.stderr
    assert_reports_equal(lake, reference, policy)
    assert_reports_equal(lake, reference, policy, since=at("2026-11-05"), until=at("2026-11-09T12:00"))


def test_reports_from_rollups_cover_filters_and_windows(
    spool: Path, reference: Path, policy: Path, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    assert run_cli("ingest", spool, "--lake", lake, "-q").returncode == 0
    assert run_cli("rollup", "--lake", lake).returncode == 0
    con = open_lake(str(lake))
    assert {"rollup_calls", "rollup_durations", "rollup_ttfts"} <= {
        r[0] for r in con.sql("SELECT view_name FROM duckdb_views()").fetchall()
    }
    assert_reports_equal(lake, reference, policy, filters={"workflow": ("support-triage", "sales-email")})
    assert_reports_equal(lake, reference, policy, filters={"team": ("platform",)})
    assert_reports_equal(lake, reference, policy, since=at("2026-11-03T06:00"), until=at("2026-11-08"))


def test_report_from_the_cli_reads_the_lake(spool: Path, tmp_path: Path, policy: Path) -> None:
    lake = tmp_path / "lake"
    assert run_cli("ingest", spool, "--lake", lake, "-q").returncode == 0
    out = run_cli("report", "cost", "--lake", lake, "--format", "json", "--since", "2026-11-04")
    assert out.returncode == 0, out.stderr
    printed = json.loads(out.stdout)
    assert printed["period"]["since"].startswith("2026-11-04")
    expected = report_data(open_lake(str(lake)), "cost", policy, since=at("2026-11-04"))
    assert list(differences(normalised(printed), normalised(expected))) == []


def test_bad_lake_input_gets_one_line_and_an_exit_code(tmp_path: Path, spool: Path) -> None:
    wrong = run_cli("ingest", spool, "--lake", "ftp://example/lake")
    assert (
        wrong.returncode == 64 and "unsupported lake URI" in wrong.stderr and "Traceback" not in wrong.stderr
    )
    empty = run_cli("report", "weekly", "--lake", tmp_path / "nothing")
    assert empty.returncode == 4 and "holds no calls" in empty.stderr and "Traceback" not in empty.stderr
    day = run_cli("lake", "compact", "--lake", tmp_path, "--day", "yesterday")
    assert day.returncode == 64 and "Traceback" not in day.stderr
    both = run_cli("report", "cost", "--lake", tmp_path, "--db", tmp_path / "x.duckdb")
    assert both.returncode == 64 and "not both" in both.stderr
    engine = run_cli("rollup", "--lake", tmp_path, "--engine", "flink")
    assert engine.returncode == 64 and "unknown engine" in engine.stderr


def date_of(text: str) -> Any:
    from datetime import date

    return date.fromisoformat(text)


def at(text: str) -> Any:
    from datetime import UTC, datetime

    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_whole_days_of_a_window_come_from_the_rollups(spool: Path, tmp_path: Path) -> None:
    from modelmeter.reports.params import ReportParams
    from modelmeter.reports.rollup import build_rollup

    lake = tmp_path / "lake"
    assert run_cli("ingest", spool, "--lake", lake, "-q").returncode == 0
    window = ReportParams(since=at("2026-11-03T12:00"), until=at("2026-11-08"))
    con = open_lake(str(lake))
    expected = build_rollup(con, window)
    assert run_cli("rollup", "--lake", lake).returncode == 0
    con = open_lake(str(lake))
    # the raw calls of a whole day inside the window disappear: its rollup still counts them
    con.execute("ALTER VIEW calls RENAME TO all_calls")
    con.execute("CREATE VIEW calls AS SELECT * FROM all_calls WHERE NOT start_time::DATE = DATE '2026-11-05'")
    rolled = build_rollup(con, window)
    assert rolled.total() == expected.total() > 0
    assert rolled.durations["n"].sum() == expected.durations["n"].sum()
    assert rolled.calls["spend_usd"].sum() == pytest.approx(expected.calls["spend_usd"].sum(), rel=1e-12)
