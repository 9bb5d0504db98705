"""`modelmeter demo` end to end: the real CLI in a subprocess, checked against SQL over the database it wrote.

The demo runs once per session (tests/support/demo.py), shared with the notebook tests.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from support.demo import DemoRun, demo_run_once, modelmeter_command

from modelmeter.demo import parts
from modelmeter.demo.replay import AppSetup, AppWorkers
from modelmeter.demo.runner import _prepare_home
from modelmeter.demo.scenario import WORKFLOWS, Week, plan_week


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    return demo_run_once(tmp_path_factory)


def printed_numbers(stdout: str) -> dict[str, str]:
    """The `label: value` lines of the demo's closing "The week in numbers" block."""
    block = stdout.split("The week in numbers", 1)[1].split("\n\n", 1)[0]
    return dict(re.findall(r"^ {2}(.+?): (.+)$", block, re.MULTILINE))


def number(text: str) -> float:
    return float(re.sub(r"[^\d.\-]", "", text))


def sql(db: Path, query: str) -> Any:
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute(query).fetchone()
    assert row is not None
    return row[0]


def policy_violations(db: Path, policy_path: Path) -> int:
    """Calls whose model matches none of its workflow's tier patterns, computed here from the TOML."""
    policy = tomllib.loads(policy_path.read_text())
    with duckdb.connect(str(db), read_only=True) as con:
        groups = con.execute(
            "SELECT workflow, tier, model, count(*) FROM calls WHERE model IS NOT NULL GROUP BY ALL"
        ).fetchall()
    violating = 0
    for workflow, tier, model, calls in groups:
        patterns = policy["tiers"][policy["workflows"].get(workflow, tier)]["models"]
        if not any(fnmatch.fnmatchcase(model, pattern) for pattern in patterns):
            violating += calls
    return violating


def test_the_numbers_the_demo_prints_equal_sql_over_its_database(demo_run: DemoRun) -> None:
    shown = printed_numbers(demo_run.stdout)
    db = demo_run.db
    assert int(number(shown["Calls"])) == sql(db, "SELECT count(*) FROM calls")
    assert number(shown["Estimated spend"]) == pytest.approx(
        float(sql(db, "SELECT sum(cost_usd) FROM calls")), abs=0.005
    )
    error_rate = sql(db, "SELECT count(*) FILTER (WHERE status = 'error') / count(*) FROM calls")
    assert number(shown["Error rate"]) == pytest.approx(100 * error_rate, abs=0.05)  # shown to 0.1%
    assert int(number(shown["Calls saved by a fallback"])) == sql(
        db, "SELECT count(*) FROM calls WHERE fallback_from IS NOT NULL AND status = 'ok'"
    )
    p50 = sql(db, "SELECT median(duration_ms) FROM calls WHERE status = 'ok'")
    assert number(shown["p50 duration"]) == pytest.approx(p50, abs=0.5)
    violating = policy_violations(db, demo_run.home / "tiers.toml")
    assert int(number(shown["Calls breaking the policy"])) == violating > 0


def test_every_request_the_mock_served_is_one_attempt_of_a_stored_call(demo_run: DemoRun) -> None:
    truth = re.search(r"served ([\d,]+) HTTP requests\s+\(([\d,]+) answered with a fault\)", demo_run.stdout)
    assert truth is not None, demo_run.stdout[-2000:]
    served, faulted = (int(group.replace(",", "")) for group in truth.groups())
    db = demo_run.db
    assert served == sql(db, "SELECT sum(attempts) FROM calls") > sql(db, "SELECT count(*) FROM calls")
    failed_tries = sql(
        db,
        "SELECT (SELECT count(*) FROM attempts WHERE status = 'error')"
        " + (SELECT count(*) FROM calls WHERE attempts = 1 AND status = 'error')",
    )
    assert faulted == failed_tries > 0


def test_the_week_looks_like_a_company_using_many_providers_and_two_gateways(demo_run: DemoRun) -> None:
    with duckdb.connect(str(demo_run.db), read_only=True) as con:
        workflows, tiers, providers, teams = (
            con.execute(
                "SELECT count(DISTINCT workflow), count(DISTINCT tier), count(DISTINCT provider),"
                " count(DISTINCT team) FROM calls"
            ).fetchone()
            or ()
        )
        gateways = {
            row[0]
            for row in con.execute("SELECT DISTINCT gateway FROM calls WHERE route = 'gateway'").fetchall()
        }
        first, last = con.execute("SELECT min(start_time), max(start_time) FROM calls").fetchone() or ()
        sdks = {row[0] for row in con.execute("SELECT DISTINCT sdk FROM calls").fetchall()}
    assert workflows == len(WORKFLOWS) >= 5
    assert tiers == 4 and providers >= 4 and teams >= 5
    assert gateways == {"vercel", "openrouter"}
    assert last - first > timedelta(days=6)
    assert len(sdks) >= 4


def test_the_outage_and_the_rate_limit_burst_show_up_as_retries_errors_and_fallbacks(
    demo_run: DemoRun,
) -> None:
    db = demo_run.db
    assert sql(db, "SELECT count(*) FROM attempts WHERE http_status = 529") > 0
    assert sql(db, "SELECT count(*) FROM attempts WHERE http_status = 429") > 0
    assert sql(db, "SELECT count(*) FROM calls WHERE attempts > 1 AND status = 'ok'") > 0
    with duckdb.connect(str(db), read_only=True) as con:
        fallbacks = con.execute(
            "SELECT workflow, model, count(*) FROM calls WHERE fallback_from IS NOT NULL GROUP BY ALL"
        ).fetchall()
    app_fallback = {w.name: w.fallback.model for w in WORKFLOWS if w.fallback is not None}
    assert fallbacks, "no call was saved by the app's fallback"
    for workflow, model, _calls in fallbacks:
        assert workflow in app_fallback and model.endswith(app_fallback[workflow])


def test_the_migrated_workflow_has_direct_calls_before_and_gateway_calls_after(demo_run: DemoRun) -> None:
    moved = next(w for w in WORKFLOWS if w.migrated_to is not None)
    with duckdb.connect(str(demo_run.db), read_only=True) as con:
        row = con.execute(
            "SELECT max(start_time) FILTER (WHERE route = 'direct' AND fallback_from IS NULL),"
            " min(start_time) FILTER (WHERE route = 'gateway'),"
            " count(*) FILTER (WHERE route = 'gateway')"
            " FROM calls WHERE workflow = ?",
            [moved.name],
        ).fetchone()
    assert row is not None
    last_direct, first_gateway, gateway_calls = row
    assert last_direct < first_gateway and gateway_calls >= 100


def test_the_demo_home_holds_the_reports_and_the_example_policy_and_budgets(demo_run: DemoRun) -> None:
    home = demo_run.home
    html = (home / "weekly-report.html").read_text()
    assert "<html" in html.lower() and "Weekly review" in html
    assert "Weekly review" in (home / "weekly-report.md").read_text()
    assert str(home / "weekly-report.html") in demo_run.stdout.replace("\n", "")
    for name in ("tiers.toml", "budgets.toml"):
        assert tomllib.loads((home / name).read_text())


def test_check_reads_the_demo_budgets_and_flags_the_image_workflow(demo_run: DemoRun) -> None:
    budgets = str(demo_run.home / "budgets.toml")
    done = subprocess.run(
        [*modelmeter_command(), "check", "--db", str(demo_run.db), "--config", budgets, "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    result = json.loads(done.stdout)
    assert done.returncode == result["exit_code"] in (1, 2)  # the demo's budgets are tight on purpose
    flagged = {budget["name"] for budget in result["budgets"] if budget["status"] != "ok"}
    assert "product-images" in flagged


def test_the_demo_refuses_to_overwrite_a_home_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    done = subprocess.run(
        [*modelmeter_command(), "demo", "--home", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "not empty" in done.stderr and "--force" in done.stderr
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_the_home_defaults_to_modelmeter_home(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    done = subprocess.run(
        [*modelmeter_command(), "demo"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "MODELMETER_HOME": str(tmp_path)},
    )
    assert done.returncode == 1
    assert str(tmp_path) in done.stderr.replace("\n", "")


def test_force_replaces_only_the_demos_own_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    (tmp_path / "spool").mkdir()
    (tmp_path / "spool" / "old.jsonl").write_text("{}")
    (tmp_path / "tiers.toml").write_text("# edited by hand")
    _prepare_home(tmp_path, force=True)
    assert (tmp_path / "notes.txt").read_text() == "keep me"
    assert not (tmp_path / "spool").exists()
    assert "[tiers.frontier]" in (tmp_path / "tiers.toml").read_text()
    assert (tmp_path / "budgets.toml").exists()


def test_an_app_worker_that_fails_stops_the_demo_with_its_error_instead_of_hanging(tmp_path: Path) -> None:
    call = plan_week(Week.ending(datetime.now(UTC)))[0]
    setup = AppSetup(spool=tmp_path / "spool", endpoints="", base_urls={}, run_id="t", threads=1)
    with (
        pytest.raises(parts.DemoError, match="an app worker failed: KeyError"),
        AppWorkers(setup, 1) as workers,
    ):
        workers.play([(0, call)], on_call=lambda: None)


def test_a_missing_part_fails_loudly_by_name_before_any_number_is_made() -> None:
    missing = (("the fleet forecaster", "modelmeter.reports", "forecast_fleet"),)
    with pytest.raises(
        parts.DemoError, match=r"the fleet forecaster \(modelmeter\.reports\.forecast_fleet\)"
    ):
        parts.require(missing)
    parts.require()  # every real part is there


DEMO_KEY_PREFIXES = ("sk-proj-DEMO", "sk-ant-api03-DEMO", "AIzaSyDEMO", "vck_DEMO", "sk-or-v1-DEMO")


def test_no_demo_key_reaches_the_spool_the_database_the_reports_or_the_terminal(demo_run: DemoRun) -> None:
    """The canary: the demo's apps hold fake keys; only their fingerprints may be written anywhere."""
    written = [demo_run.stdout.encode()]
    written += [path.read_bytes() for path in demo_run.home.rglob("*") if path.is_file()]
    for prefix in DEMO_KEY_PREFIXES:
        assert not any(prefix.encode() in blob for blob in written), prefix
    # DuckDB may compress strings on disk, so ask the database too.
    text_columns = sql(
        demo_run.db,
        "SELECT string_agg(column_name, ',') FROM information_schema.columns "
        "WHERE table_name = 'calls' AND data_type IN ('VARCHAR', 'JSON')",
    )
    everything = " || ' ' || ".join(
        f"coalesce(CAST(\"{c}\" AS VARCHAR), '')" for c in text_columns.split(",")
    )
    for prefix in DEMO_KEY_PREFIXES:
        hits = sql(demo_run.db, f"SELECT count(*) FROM calls WHERE position('{prefix}' IN {everything}) > 0")
        assert hits == 0, prefix
    assert sql(demo_run.db, "SELECT count(DISTINCT key_fingerprint) FROM calls") >= 4


def test_the_demo_ends_with_a_short_summary_at_80_columns(demo_run: DemoRun) -> None:
    lines = demo_run.stdout.splitlines()
    assert len(lines) <= 30, len(lines)
    for part in ("The week in numbers", "What to do next", "Weekly page:", "Next commands", "Period:"):
        assert part in demo_run.stdout
