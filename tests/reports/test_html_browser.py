"""The HTML weekly report opens in headless Chromium offline, with no console errors and its charts drawn."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support.report_data import build_synthetic_db, write_policy

from modelmeter.reports import ReportParams, build_report, open_db
from modelmeter.reports.render import render

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
README_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "report-screenshot.png"

pytestmark = pytest.mark.browser


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Chromium (scripts/test installs it)")
def test_weekly_html_report_renders_offline_with_charts_and_no_console_errors(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    con = open_db(build_synthetic_db(tmp_path))
    report = build_report("weekly", con, ReportParams(policy=write_policy(tmp_path)))
    html = render(report, "html")
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org", "")
    page_path = tmp_path / "weekly.html"
    page_path.write_text(html)

    problems: list[str] = []
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("request", lambda request: requests.append(request.url))
        page.goto(page_path.as_uri())
        charts = page.locator("figure.chart svg")
        assert charts.count() == len(report.charts) >= 1
        assert page.locator("figure.chart svg .mark-rect, figure.chart svg .mark-line").count() >= 1
        assert page.locator("#headline-cost\\.spend_usd .value").inner_text().startswith("$")
        screenshot = tmp_path / "weekly.png"
        page.screenshot(path=str(screenshot), full_page=False)
        browser.close()
    assert not problems, problems
    assert all(url.startswith("file://") for url in requests), requests
    assert screenshot.stat().st_size > 10_000
    README_SCREENSHOT.parent.mkdir(exist_ok=True)
    shutil.copyfile(screenshot, README_SCREENSHOT)
