"""The real `modelmeter check` in a subprocess: budgets, forecasts and exit codes on a synthetic database."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from support.report_data import build_synthetic_db, run


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("home")
    build_synthetic_db(directory)
    return directory


def _budget_case(home: Path, tmp_path: Path, text: str, at: str) -> tuple[int, dict]:
    config = tmp_path / "budgets.toml"
    config.write_text(text)
    result = run("check", "--config", config, "--at", at, "--format", "json", env_home=home)
    return result.returncode, json.loads(result.stdout)


def test_check_exit_codes_ok_warn_fail_and_spend_equals_sql(home: Path, tmp_path: Path) -> None:
    at = "2026-11-12T12:00:00+00:00"
    con = duckdb.connect(str(home / "modelmeter.duckdb"), read_only=True)
    day = con.sql(
        "SELECT sum(cost_usd)::DOUBLE FROM calls WHERE team = 'platform' AND start_time >= '2026-11-12' "
        "AND start_time < $at",
        params={"at": at},
    ).fetchall()[0][0]
    assert day > 0
    code, ok = _budget_case(
        home, tmp_path, f"[team.platform]\nday = {{ warn = {day * 100}, fail = {day * 200} }}\n", at
    )
    assert code == 0 and ok["status"] == "ok"
    assert ok["budgets"][0]["spent_usd"] == pytest.approx(day, rel=1e-6)
    code, warn = _budget_case(
        home, tmp_path, f"[team.platform]\nday = {{ warn = {day / 2}, fail = {day * 10} }}\n", at
    )
    assert code == 1 and warn["status"] == "warn"
    code, fail = _budget_case(
        home, tmp_path, f"[team.platform]\nday = {{ warn = {day / 4}, fail = {day / 2} }}\n", at
    )
    assert code == 2 and fail["budgets"][0]["status"] == "fail"


def test_check_warns_before_the_limit_when_the_forecast_crosses_it(home: Path, tmp_path: Path) -> None:
    at = "2026-11-12T06:00:00+00:00"  # a quarter into the day: the forecast is well above the spend so far
    _, probe = _budget_case(home, tmp_path, "[total]\nday = { fail = 1e12 }\n", at)
    spent, projected = probe["budgets"][0]["spent_usd"], probe["budgets"][0]["projected_usd"]
    assert 0 < spent < projected
    limit = (spent + projected) / 2
    code, result = _budget_case(home, tmp_path, f"[total]\nday = {{ fail = {limit} }}\n", at)
    assert code == 1 and result["status"] == "warn" and "forecast" in result["budgets"][0]["reason"]


def test_a_budget_whose_workflow_has_no_calls_this_period_is_not_ok(home: Path, tmp_path: Path) -> None:
    # support-triage has calls in the database, but none on this day: the budget may be silently off
    code, result = _budget_case(
        home, tmp_path, "[workflow.support-triage]\nday = { fail = 1000 }\n", "2027-03-01T12:00:00+00:00"
    )
    budget = result["budgets"][0]
    assert code == 1 and result["status"] == "warn"
    assert budget["status"] == "no-calls" and "no calls for workflow support-triage" in budget["reason"]


def test_a_total_budget_with_no_spend_yet_is_ok(home: Path, tmp_path: Path) -> None:
    code, result = _budget_case(
        home, tmp_path, "[total]\nday = { fail = 1000 }\n", "2027-03-01T12:00:00+00:00"
    )
    assert code == 0 and result["budgets"][0]["calls"] == 0
