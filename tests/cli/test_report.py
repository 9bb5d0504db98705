"""The real `modelmeter report` and `modelmeter check` commands, in a subprocess, on a synthetic database."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl
import pytest
from support.report_data import run

from modelmeter.ingest.schema import MIGRATIONS


def test_report_json_headlines_match_sql_and_filters_apply(home: Path) -> None:
    result = run("report", "cost", "--workflow", "support-triage", "--format", "json", env_home=home)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    spend = {h["key"]: h for h in document["headlines"]}["spend_usd"]
    con = duckdb.connect(str(home / "modelmeter.duckdb"), read_only=True)
    expected, priced = con.sql(
        "SELECT sum(cost_usd)::DOUBLE, count(cost_usd) FROM calls WHERE workflow = 'support-triage'"
    ).fetchall()[0]
    assert spend["value"] == pytest.approx(expected) and spend["based_on_calls"] == priced
    assert spend["definition"] and document["filters"] == {"workflow": ["support-triage"]}
    assert document["charts"]["spend_by_day"]["mark"]["type"] == "bar"


def test_report_writes_markdown_and_a_csv_directory(home: Path, tmp_path: Path) -> None:
    md = run("report", "inventory", "--format", "md", "-o", tmp_path / "inventory.md", env_home=home)
    assert md.returncode == 0, md.stderr
    text = (tmp_path / "inventory.md").read_text()
    assert "## Headlines" in text and "## Notes" in text and "Based on" in text
    csv = run(
        "report",
        "tiers",
        "--policy",
        home / "tiers.toml",
        "--format",
        "csv",
        "-o",
        tmp_path / "tiers",
        env_home=home,
    )
    assert csv.returncode == 0, csv.stderr
    headlines = pl.read_csv(tmp_path / "tiers" / "headlines.csv")
    assert "violating_calls" in headlines["key"].to_list()
    assert (tmp_path / "tiers" / "savings.csv").exists()
    parquet = run(
        "report",
        "latency",
        "--format",
        "parquet",
        "--table",
        "latency_by_model",
        "-o",
        tmp_path / "l.parquet",
        env_home=home,
    )
    assert parquet.returncode == 0, parquet.stderr
    assert pl.read_parquet(tmp_path / "l.parquet").height > 0


def test_report_terminal_output_shows_headlines_and_notes(home: Path) -> None:
    result = run("report", "failover", "--since", "2026-11-05", env_home=home)
    assert result.returncode == 0, result.stderr
    assert "Error rate" in result.stdout and "Note:" in result.stdout and "2026-11-05" in result.stdout


def test_report_on_a_missing_or_empty_database_says_so(tmp_path: Path) -> None:
    missing = run("report", "weekly", "--db", tmp_path / "nope.duckdb")
    assert missing.returncode == 4 and "no database" in missing.stderr
    empty = tmp_path / "empty.duckdb"
    con = duckdb.connect(str(empty))
    for migration in MIGRATIONS:
        con.execute(migration)
    con.close()
    result = run("report", "cost", "--db", empty)
    assert result.returncode == 4 and "no calls" in result.stderr
