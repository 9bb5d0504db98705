"""People's outputs over the demo week: they fit 80 columns, read as words and amounts, and agree.

Every report of the demo's database, in the terminal through the real CLI at COLUMNS=80, and as
Markdown, HTML and CSV: no line over 80 characters, no word cut across lines, no scientific
notation, no snake_case header, no float noise in an amount; one period for every report; the
weekly page's comparison is the compare report's own, figure for figure.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import polars as pl
import pytest
from support.demo import DemoRun, demo_run_once, modelmeter_command

from modelmeter.reports import Report, ReportParams, build_report, open_db
from modelmeter.reports.render import render, write_tables
from modelmeter.reports.render.format import period
from modelmeter.reports.render.terminal import LINE_BUDGET, render_text

KINDS = ("inventory", "cost", "latency", "failover", "compare", "tiers", "plan", "weekly")
SCIENTIFIC = re.compile(r"\d(\.\d+)?[eE][+-]?\d")
SNAKE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")
NOISE = re.compile(r"\.\d*(0{7,}|9{7,})\d")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    return demo_run_once(tmp_path_factory)


@pytest.fixture(scope="module")
def reports(demo: DemoRun) -> dict[str, Report]:
    con = open_db(demo.db)
    params = ReportParams(policy=demo.home / "tiers.toml", budgets=demo.home / "budgets.toml")
    try:
        return {kind: build_report(kind, con, params) for kind in KINDS}
    finally:
        con.close()


def cli(demo: DemoRun, *args: str, columns: int = 80) -> str:
    env = {**os.environ, "COLUMNS": str(columns), "NO_COLOR": "1", "MODELMETER_HOME": str(demo.home)}
    done = subprocess.run(
        [*modelmeter_command(), "report", *args, "--db", str(demo.db)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def words(text: str) -> set[str]:
    """The words of `text`, without the punctuation a list of them puts after each."""
    return {word.rstrip(";,.") for word in text.split() if not set(word) <= set("─━│")}


def html_text(html: str) -> str:
    """What a reader sees of the page: the text outside tags, and the charts' text labels."""
    labels = " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", html))
    page = re.sub(r"<svg.*?</svg>", " ", html, flags=re.DOTALL)
    page = re.sub(r"<style.*?</style>", " ", page, flags=re.DOTALL)
    return re.sub(r"<[^>]+>", " ", page) + " " + labels


@pytest.mark.parametrize("kind", KINDS)
def test_the_terminal_fits_80_columns_without_breaking_a_word_and_stays_short(
    demo: DemoRun, reports: dict[str, Report], kind: str
) -> None:
    text = cli(demo, kind)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80, [line for line in lines if len(line) > 80]
    assert len(lines) <= LINE_BUDGET, len(lines)
    # every word at 80 columns is a whole word of the same report printed without any wrapping
    report = reports[kind]
    whole = words(render_text(report, width=2000)) | words(render_text(report, width=2000, wide=True))
    whole |= words("8 of 9 rows; 2 more columns with --wide.")  # the caption of a table cut to fit
    cut = {word for word in words(text) - whole if not word.isdigit()}
    assert not cut, cut


@pytest.mark.parametrize("kind", KINDS)
def test_no_people_output_shows_scientific_notation_or_a_snake_case_header(
    demo: DemoRun, reports: dict[str, Report], kind: str
) -> None:
    report = reports[kind]
    terminal, markdown, html = cli(demo, kind), render(report, "md"), render(report, "html")
    for name, text in (("terminal", terminal), ("markdown", markdown), ("html", html_text(html))):
        assert not SCIENTIFIC.search(text), (name, SCIENTIFIC.search(text))
    headers = re.findall(r"<th[^>]*>([^<]*)</th>", html)
    headers += [
        cell.strip()
        for line, rule in zip(markdown.splitlines(), markdown.splitlines()[1:], strict=False)
        if re.fullmatch(r"\|( -+:? \|)+", rule)
        for cell in line.strip("|").split("|")
    ]
    assert headers and not [h for h in headers if SNAKE.match(h)], [h for h in headers if SNAKE.match(h)]
    snake_columns = {name for table in report.tables for name in table.frame.columns if "_" in name}
    assert not snake_columns & words(terminal)


@pytest.mark.parametrize("kind", KINDS)
def test_no_amount_carries_float_noise_in_any_output(
    reports: dict[str, Report], kind: str, tmp_path: Path
) -> None:
    report = reports[kind]
    for path in write_tables(report, "csv", tmp_path / kind):
        frame = pl.read_csv(path, infer_schema=False)
        text = path.read_text()
        assert not SCIENTIFIC.search(text), (path.name, SCIENTIFIC.search(text))
        for column in (c for c in frame.columns if c.endswith("_usd")):
            noisy = [v for v in frame[column].drop_nulls().to_list() if NOISE.search(v)]
            assert not noisy, (path.name, column, noisy)
    document = json.loads(render(report, "json"))
    amounts = [h["value"] for h in document["headlines"] if h["unit"] == "usd" and h["value"] is not None]
    assert all(value == 0 or abs(value) >= 1e-10 for value in amounts), amounts
    for table in document["tables"].values():
        for row in table["rows"]:
            for column, value in row.items():
                if column.endswith("_usd") and isinstance(value, float):
                    assert value == 0 or abs(value) >= 1e-10, (column, value)
                    assert not NOISE.search(repr(value)), (column, value)


def test_every_report_of_the_demo_states_the_same_period(demo: DemoRun, reports: dict[str, Report]) -> None:
    periods = {kind: report.period for kind, report in reports.items()}
    assert len(set(periods.values())) == 1, periods
    stated = period(reports["weekly"])
    assert f"Period: {stated}" in demo.stdout
    for kind in KINDS:
        assert stated in render(reports[kind], "md").replace("\n", " ")


def test_the_weekly_page_compares_exactly_as_report_compare_does(demo: DemoRun) -> None:
    compare = json.loads(cli(demo, "compare", "--format", "json"))
    weekly = json.loads(cli(demo, "weekly", "--format", "json"))
    assert compare["period"] == weekly["period"]
    rows = compare["tables"]["comparison"]["rows"]
    assert rows and weekly["tables"]["comparison"]["rows"] == rows
    own = {h["key"]: h["value"] for h in compare["headlines"]}
    shown = {h["key"].removeprefix("compare."): h["value"] for h in weekly["headlines"]}
    assert {key: shown[key] for key in own} == own
    page = (demo.home / "weekly-report.html").read_text()
    top = rows[0]
    assert f"{top['p50_diff_ms']:+,.0f} ms" in page and top["recommendation"] in page


def test_the_migrated_workflow_is_not_like_for_like_and_incident_hours_are_left_out(
    demo: DemoRun, reports: dict[str, Report]
) -> None:
    """meeting-notes moved to the gateway mid-week, after an Anthropic outage on its direct days."""
    report = reports["compare"]
    row = report.table("comparison").frame.filter(pl.col("workflow") == "meeting-notes").row(0, named=True)
    assert "different periods" in row["not_like_for_like"]
    assert "incident on direct only" in row["not_like_for_like"]
    assert row["verdict"].startswith("Not like for like")
    assert row["recommendation"] in ("keep", "revert", "wait") and row["why"]
    assert any("Incident hours left out" in note for note in report.notes)
    con = open_db(demo.db)
    try:
        kept = build_report("compare", con, ReportParams(keep_incidents=True))
    finally:
        con.close()
    left_out = kept.headline("calls_a").value - report.headline("calls_a").value  # type: ignore[operator]
    assert left_out == report.table("arms").frame["incident_calls_a"].sum() > 0
    assert any("Incident hours kept" in note for note in kept.notes)


def test_a_saving_is_never_negative_without_saying_why(reports: dict[str, Report]) -> None:
    tiers = reports["tiers"]
    assert tiers.headline("estimated_saving_usd").value >= 0  # type: ignore[operator]
    savings = tiers.table("savings").frame
    assert savings.filter((pl.col("saving_usd") < 0) & ~pl.col("why").str.contains("costs more")).is_empty()


def test_the_weekly_page_shows_each_budget_as_modelmeter_check_does(
    demo: DemoRun, reports: dict[str, Report]
) -> None:
    weekly = reports["weekly"]
    until = weekly.period[1]
    assert until is not None
    env = {**os.environ, "MODELMETER_HOME": str(demo.home)}
    done = subprocess.run(
        [*modelmeter_command(), "check", "--db", str(demo.db), "--at", until.isoformat(), "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    checked = {(b["status"], round(b["spent_usd"], 6)) for b in json.loads(done.stdout)["budgets"]}
    shown = weekly.table("budgets").frame
    assert {(row["status"], round(row["spent_usd"], 6)) for row in shown.iter_rows(named=True)} == checked
    at_risk = shown.filter(pl.col("status").is_in(["warn", "fail"])).height
    assert weekly.headline("budgets.at_risk").value == at_risk > 0
    assert [f for f in weekly.findings if f.section == "budgets"]
