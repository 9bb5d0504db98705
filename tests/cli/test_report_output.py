"""`report -o`: a .csv or .parquet path is one file, a directory one file per table, and nothing is
written where the user did not ask; `--help` lists each report's tables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl

from modelmeter.cli.report import TABLES
from modelmeter.reports import REPORTS, ReportParams, build_report, open_db

CLI = str(Path(sys.executable).with_name("modelmeter"))


def _run(home: Path, cwd: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MODELMETER_HOME": str(home), "COLUMNS": "200"}
    return subprocess.run(
        [CLI, "report", *map(str, args)], capture_output=True, text=True, timeout=120, env=env, cwd=cwd
    )


def test_a_csv_path_is_one_file_holding_the_main_table(home: Path, tmp_path: Path) -> None:
    done = _run(home, tmp_path, "cost", "--format", "csv", "-o", "cost.csv")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "cost.csv").is_file()
    assert "spend_usd" in pl.read_csv(tmp_path / "cost.csv").columns
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cost.csv"]


def test_the_suffix_alone_chooses_the_format_and_table_picks_the_table(home: Path, tmp_path: Path) -> None:
    done = _run(home, tmp_path, "cost", "-o", "teams.parquet", "--table", "spend_by_team")
    assert done.returncode == 0, done.stderr
    assert "team" in pl.read_parquet(tmp_path / "teams.parquet").columns
    html = _run(home, tmp_path, "latency", "-o", "latency.html")
    assert html.returncode == 0 and (tmp_path / "latency.html").read_text().lstrip().startswith("<!")


def test_a_directory_gets_one_file_per_table_and_headlines(home: Path, tmp_path: Path) -> None:
    done = _run(home, tmp_path, "latency", "--format", "parquet", "-o", "out")
    assert done.returncode == 0, done.stderr
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == sorted(f"{name}.parquet" for name in ("headlines", *TABLES["latency"]))


def test_csv_without_o_prints_the_main_table_and_writes_nothing(home: Path, tmp_path: Path) -> None:
    done = _run(home, tmp_path, "inventory", "--format", "csv")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith("workflow,")
    assert list(tmp_path.iterdir()) == []


def test_help_lists_every_reports_tables() -> None:
    done = subprocess.run([CLI, "report", "--help"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "200"})  # fmt: skip
    text = " ".join(done.stdout.replace("│", " ").split())
    for kind, names in TABLES.items():
        assert f"{kind}: {', '.join(names)}" in text


def test_the_listed_tables_are_the_tables_each_report_makes(home: Path) -> None:
    for kind in REPORTS:
        con = open_db(home / "modelmeter.duckdb")
        report = build_report(kind, con, ReportParams(policy=home / "tiers.toml"))
        con.close()
        made = [table.name for table in report.tables]
        assert made[0] == TABLES[kind][0], kind  # the main table, written to a single file
        assert set(made) <= set(TABLES[kind]), (kind, set(made) - set(TABLES[kind]))
