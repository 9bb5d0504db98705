"""Run the demo week: mock providers up, app instrumented, the timeline replayed, then ingest and report.

The timeline is replayed in segments cut at midnight and at the incidents' start and end: within a
segment the mock providers behave one way, and its calls run concurrently in the app processes
(`replay.py`), each under its own simulated moment (`clock.py`). Segments run in time order, so an
outage affects exactly the calls planned inside it, however the calls interleave. The mock
providers stay in this process, apart from the app, as real providers would be.

The other stages, and the app with its provider SDKs, are imported inside the functions that use
them: after `parts.require()` has checked that they exist (a missing stage then fails by name, not
as an ImportError), and after the home is checked (a refusal comes at once).
"""

from __future__ import annotations

import shlex
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as dt_time
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from modelmeter.demo import parts
from modelmeter.demo.parts import DemoError
from modelmeter.demo.replay import AppSetup, AppWorkers, Segment
from modelmeter.demo.scenario import (
    COMPANY,
    INCIDENTS,
    MOCK_BEHAVIOUR,
    VENDORS,
    Incident,
    PlannedCall,
    Week,
    plan_week,
)

if TYPE_CHECKING:
    from modelmeter.reports import Report

DB_NAME = "modelmeter.duckdb"
REPORT_HTML = "weekly-report.html"
REPORT_MD = "weekly-report.md"
EXAMPLE_FILES = ("tiers.toml", "budgets.toml", "meeting_notes.py")
# Everything the demo writes into its home; `--force` removes exactly these before a new run.
DEMO_OUTPUTS = ("spool", DB_NAME, f"{DB_NAME}.wal", REPORT_HTML, REPORT_MD, *EXAMPLE_FILES)
# Two app processes use both cores of a small machine; threads overlap each call's waits on the mock.
APP_PROCESSES = 2
THREADS_PER_PROCESS = 6
# Weekly-report headlines the demo repeats at the end, in this order (tests check them against SQL).
KEY_NUMBERS = (
    "inventory.calls",
    "cost.spend_usd",
    "failover.error_rate",
    "failover.fallbacks_saved",
    "latency.p50_ms",
    "tiers.violating_calls",
)
SUMMARY_FINDINGS = 3  # the first findings of the weekly page, repeated at the end


@dataclass(frozen=True)
class Truth:
    """What the mock providers saw: every HTTP request, and those answered with a fault."""

    requests: int
    faulted: int


@dataclass(frozen=True)
class DemoResult:
    """Where the demo wrote its outputs, and what the mock providers saw (the truth to check against)."""

    home: Path
    db: Path
    html: Path
    markdown: Path
    planned_calls: int
    truth: Truth
    seconds: float


def run_demo(home: Path, *, force: bool = False, console: Console | None = None) -> DemoResult:
    """Replay the demo week into `home` and write the weekly report there; returns what it did."""
    console = console or Console()
    started = time.perf_counter()
    home = home.resolve()
    _check_home(home, force)  # a refusal comes at once, before the slower checks and imports
    parts.require()
    parts.require_sdks()
    _prepare_home(home, force)
    try:
        return _run(home, console, started)
    except BaseException:
        _remove_outputs(home)  # a failed run leaves nothing that a retry would refuse as "not empty"
        raise


def _run(home: Path, console: Console, started: float) -> DemoResult:
    console.print(f"[bold]{COMPANY}[/]: a week of AI traffic, replayed into [cyan]{escape(str(home))}[/]")

    week = Week.ending(datetime.now(UTC))
    timeline = plan_week(week)
    truth = _replay(home / "spool", week, timeline, console)

    db = home / DB_NAME
    with console.status("Ingesting the spool into DuckDB"):
        _ingest(home / "spool", db)
    html, markdown = home / REPORT_HTML, home / REPORT_MD
    with console.status("Writing the weekly report"):
        report = _weekly_report(db, home / "tiers.toml", home / "budgets.toml")
        _write(report, html, markdown)
    seconds = time.perf_counter() - started
    _print_summary(report, len(timeline), truth, seconds, home, console)
    return DemoResult(home, db, html, markdown, len(timeline), truth, seconds)


def _check_home(home: Path, force: bool) -> None:
    """Refuse a home that is a file, or is not empty unless forced."""
    if home.exists() and not home.is_dir():
        raise DemoError(f"{home} exists and is not a directory")
    if not force and home.exists() and any(home.iterdir()):
        raise DemoError(
            f"{home} is not empty: choose another --home, or pass --force to replace the demo's files"
        )


def _prepare_home(home: Path, force: bool) -> None:
    """Lay down the example policy, budgets and app in a checked home (the demo's old files removed)."""
    _check_home(home, force)
    _remove_outputs(home)
    home.mkdir(parents=True, exist_ok=True)
    examples = resources.files("modelmeter.demo") / "examples"
    for name in EXAMPLE_FILES:
        (home / name).write_text((examples / name).read_text(encoding="utf-8"), encoding="utf-8")


def _remove_outputs(home: Path) -> None:
    for name in DEMO_OUTPUTS:
        target = home / name
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)


def _replay(spool: Path, week: Week, timeline: list[PlannedCall], console: Console) -> Truth:
    """Play the timeline through the instrumented app (in worker processes) against the mock providers."""
    from modelmeter.mock import MockProviders

    with MockProviders(vendors=VENDORS) as mock:
        for vendor in VENDORS:
            mock.configure(vendor, _knobs(vendor, []))
        setup = AppSetup(
            spool=spool,
            endpoints=mock.endpoints,
            base_urls={vendor: mock.base_url(vendor) for vendor in VENDORS},
            run_id=f"demo-{week.end:%Y%m%d}",
            threads=THREADS_PER_PROCESS,
        )
        progress = Progress(
            TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=console,
        )  # fmt: skip
        with progress, AppWorkers(setup, APP_PROCESSES) as workers:
            task = progress.add_task("Starting the app", total=len(timeline))
            for segment, incidents in _segments(week, timeline):
                affected = {incident.vendor for incident in incidents}
                for vendor in affected:
                    mock.configure(vendor, _knobs(vendor, incidents))
                day = segment[0][1].at.strftime("%a %d %b")
                progress.update(task, description=f"{day} · incident" if incidents else day)
                workers.play(segment, lambda: progress.advance(task))
                for vendor in affected:
                    mock.configure(vendor, _knobs(vendor, []))
        served = mock.calls
    return Truth(requests=len(served), faulted=sum(1 for call in served if call.fault is not None))


def _knobs(vendor: str, incidents: list[Incident]) -> Any:
    """The vendor's normal behaviour with the knobs of any incident affecting it laid over."""
    from modelmeter.mock import Knobs

    values = dict(MOCK_BEHAVIOUR[vendor])
    for incident in incidents:
        if incident.vendor == vendor:
            values.update(incident.knobs)
    return Knobs(**values)  # type: ignore[arg-type]


def _segments(week: Week, timeline: list[PlannedCall]) -> Iterator[tuple[Segment, list[Incident]]]:
    """Consecutive runs of the (numbered) timeline, cut at midnight and at incident boundaries, with
    the incidents active in each."""
    windows = [(incident, *week.incident_window(incident)) for incident in INCIDENTS]
    midnights = [datetime.combine(day, dt_time(), UTC) for day in week.dates()]
    cuts = sorted({*midnights, *(moment for _, start, end in windows for moment in (start, end))})
    segment: Segment = []
    for index, call in enumerate(timeline):
        if segment and any(segment[-1][1].at < cut <= call.at for cut in cuts):
            yield segment, _active(windows, segment[0][1].at)
            segment = []
        segment.append((index, call))
    if segment:
        yield segment, _active(windows, segment[0][1].at)


def _active(windows: list[tuple[Incident, datetime, datetime]], moment: datetime) -> list[Incident]:
    return [incident for incident, start, end in windows if start <= moment < end]


def _ingest(spool: Path, db: Path) -> None:
    from modelmeter.ingest import ingest_paths

    summary = ingest_paths([spool], db)
    if summary.quarantined:
        raise DemoError(
            f"ingest quarantined {summary.quarantined} spans of the demo (see the quarantine table)"
        )


def _weekly_report(db: Path, policy: Path, budgets: Path) -> Report:
    from modelmeter.reports import ReportParams, build_report, open_db

    con = open_db(db)
    try:
        return build_report("weekly", con, ReportParams(policy=policy, budgets=budgets))
    finally:
        con.close()


def _write(report: Report, html: Path, markdown: Path) -> None:
    from modelmeter.reports.render import render

    html.write_text(render(report, "html"), encoding="utf-8")
    markdown.write_text(render(report, "md"), encoding="utf-8")


def _print_summary(
    report: Report, planned: int, truth: Truth, seconds: float, home: Path, console: Console
) -> None:
    """The closing summary (about 25 lines): what was replayed, the week in numbers, the first
    findings, where the reports are and the commands to go further. The page holds the rest."""
    from rich.table import Table
    from rich.text import Text

    from modelmeter.reports.render.format import headline_value, period

    def say(text: str = "", style: str = "", whole: bool = False) -> None:
        # as text: report words are not rich markup; `whole` keeps a path or command on one line
        console.print(Text(text, style=style), soft_wrap=whole)

    say(
        f"Replayed {planned:,} planned calls through the real SDKs and the shim in {seconds:.0f} s; "
        f"the mock providers served {truth.requests:,} HTTP requests "
        f"({truth.faulted:,} answered with a fault)."
    )
    say(f"Period: {period(report)}")
    say()
    say("The week in numbers", "bold")
    for key in KEY_NUMBERS:
        headline = report.headline(key)
        say(f"  {headline.label}: {headline_value(headline)}")
    if report.findings:
        say()
        say("What to do next", "bold")
        steps = Table.grid(padding=(0, 1, 0, 2))
        steps.add_column(no_wrap=True)
        steps.add_column()
        for number, finding in enumerate(report.findings[:SUMMARY_FINDINGS], 1):
            steps.add_row(f"{number}.", Text(finding.text))
        console.print(steps)
    say()
    say("Reports", "bold")
    say(f"  Weekly page: {home / REPORT_HTML}", whole=True)
    say(f"  Markdown:    {home / REPORT_MD}", whole=True)
    say()
    say("Next commands", "bold")
    say(f"  export MODELMETER_HOME={shlex.quote(str(home))}", whole=True)
    say("  modelmeter report compare; modelmeter check   (the README's tour)")
