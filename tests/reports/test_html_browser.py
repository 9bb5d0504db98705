"""The weekly HTML page in headless Chromium, at desktop (1280 px) and phone (390 px) widths.

It opens offline with no console error, the page never scrolls sideways (wide tables scroll inside
their own box), and every chart draws marks of its data. Checked on the demo's own page and on a
page over a larger synthetic database.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.demo import DemoRun, demo_run_once
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
WIDTHS = (1280, 390)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Chromium (scripts/test installs it)"),
]


@pytest.fixture(scope="module")
def demo_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    demo: DemoRun = demo_run_once(tmp_path_factory)
    return demo.home / "weekly-report.html"


@pytest.fixture(scope="module")
def synthetic_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("synthetic-page")
    con = open_db(build_synthetic_db(folder))
    report = build_report("weekly", con, ReportParams(policy=write_policy(folder)))
    page = folder / "weekly.html"
    page.write_text(render(report, "html"))
    return page


def check_page(page_path: Path, width: int) -> dict:
    """Open the page at `width` and return what the checks need: problems, requests, sizes, marks."""
    from playwright.sync_api import sync_playwright

    html = page_path.read_text()
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org", "")
    problems: list[str] = []
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("request", lambda request: requests.append(request.url))
        page.goto(page_path.as_uri())
        seen = page.evaluate(
            """() => ({
              pageWidth: document.documentElement.scrollWidth,
              viewport: document.documentElement.clientWidth,
              bodyWidth: document.body.scrollWidth,
              // data marks per chart: vega draws each mark group as g.role-mark (axes are role-axis)
              marks: [...document.querySelectorAll('figure.chart svg')].map(
                svg => svg.querySelectorAll('g.role-mark > *').length),
              titles: [...document.querySelectorAll('figure.chart')].map(f => f.getAttribute('aria-label')),
              findings: document.querySelectorAll('#findings li a').length,
              spend: document.querySelector('#headline-cost\\\\.spend_usd .value')?.innerText ?? '',
              firstColumnSticky: getComputedStyle(document.querySelector('td') ?? document.body).position,
            })"""
        )
        browser.close()
    return {"problems": problems, "requests": requests, **seen}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("which", ["demo_page", "synthetic_page"])
def test_the_weekly_page_reads_at_desktop_and_phone_width(
    which: str, width: int, request: pytest.FixtureRequest
) -> None:
    seen = check_page(request.getfixturevalue(which), width)
    assert not seen["problems"], seen["problems"]
    assert all(url.startswith("file://") for url in seen["requests"]), seen["requests"]
    assert seen["pageWidth"] <= seen["viewport"] and seen["bodyWidth"] <= seen["viewport"], seen
    assert len(seen["marks"]) >= 3 and all(count > 0 for count in seen["marks"]), seen["marks"]
    assert seen["findings"] >= 1
    assert seen["spend"].startswith("$")
    assert seen["firstColumnSticky"] == "sticky"
