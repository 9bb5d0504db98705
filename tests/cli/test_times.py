"""One time parser for every --since, --until and --at: the same forms everywhere, errors that name them."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.synthetic_calls import generate_calls

from modelmeter.cli.times import parse_time
from modelmeter.ingest.store import open_store

CLI = str(Path(sys.executable).with_name("modelmeter"))
NOW = datetime(2026, 11, 12, 15, 30, tzinfo=UTC)  # a Thursday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026-11-01T09:00", datetime(2026, 11, 1, 9, tzinfo=UTC)),
        ("2026-11-01 09:00", datetime(2026, 11, 1, 9, tzinfo=UTC)),
        ("2026-11-01T09:00Z", datetime(2026, 11, 1, 9, tzinfo=UTC)),
        ("2026-11-01T10:00+01:00", datetime(2026, 11, 1, 9, tzinfo=UTC)),
        ("7d", NOW - timedelta(days=7)),
        ("24h", NOW - timedelta(hours=24)),
        ("2w", NOW - timedelta(weeks=2)),
        ("30m", NOW - timedelta(minutes=30)),
        ("now", NOW),
        ("today", datetime(2026, 11, 12, tzinfo=UTC)),
        ("Yesterday", datetime(2026, 11, 11, tzinfo=UTC)),
        ("this week", datetime(2026, 11, 9, tzinfo=UTC)),
        ("last  week", datetime(2026, 11, 2, tzinfo=UTC)),
        ("this month", datetime(2026, 11, 1, tzinfo=UTC)),
        ("last month", datetime(2026, 10, 1, tzinfo=UTC)),
    ],
)
def test_the_forms_people_type(text: str, expected: datetime) -> None:
    assert parse_time(text, NOW) == expected


@pytest.mark.parametrize("text", ["yesterdy", "7 days ago", "2026-13-01", "", "d7"])
def test_anything_else_is_refused_with_the_forms_listed(text: str) -> None:
    with pytest.raises(ValueError, match=r"7d.*yesterday"):
        parse_time(text, NOW)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("times") / "calls.duckdb"
    con = open_store(path)  # as ingest leaves a database, so reprice accepts it too
    generate_calls(con, 2_000, start=datetime.now(UTC) - timedelta(days=6), days=7)
    con.close()
    return path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=120)


def test_report_check_and_reprice_take_the_same_words(db: Path, tmp_path: Path) -> None:
    budgets = tmp_path / "budgets.toml"
    budgets.write_text("[total]\nday = { fail = 1000000 }\n")
    assert _run("report", "cost", "--db", str(db), "--since", "yesterday", "-f", "json").returncode == 0
    assert _run("report", "cost", "--db", str(db), "--since", "last week", "--until", "today").returncode == 0
    assert _run("check", "--db", str(db), "--config", str(budgets), "--at", "yesterday").returncode == 0
    repriced = _run("reprice", "--db", str(db), "--since", "7d")
    assert repriced.returncode == 0, repriced.stderr


def test_a_reversed_period_is_refused_not_reported_empty(db: Path) -> None:
    done = _run("report", "cost", "--db", str(db), "--since", "today", "--until", "yesterday")
    assert done.returncode == 64 and "reversed" in done.stderr and done.stdout == ""
