"""Weekly review: one page with the headlines of every other report over the last 7 days.

The week ends at --until (default: just after the latest call) and starts 7 days earlier unless
--since says otherwise. Sub-reports run in brief mode (only the breakdowns this page shows, so
fewer grouping keys per scan; no per-day detail tables) and compare uses a smaller bootstrap, so the
page stays bounded on tens of millions of calls (see BENCHMARKS.md for how fast it is).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import duckdb

from modelmeter.reports import compare, cost, failover, inventory, latency, tiers
from modelmeter.reports.model import Headline, Report
from modelmeter.reports.params import ReportParams
from modelmeter.reports.source import resolve_window

WEEK = timedelta(days=7)
WEEKLY_SAMPLE_CAP = 5_000
WEEKLY_RESAMPLES = 400

# (section, headline keys, table names) in page order
_SECTIONS: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
    (
        "cost",
        ("spend_usd", "spend_wow_change", "top_mover", "cost_per_call_usd", "reported_minus_estimated_usd"),
        ("spend_by_provider", "spend_by_workflow", "top_movers"),
    ),
    (
        "inventory",
        (
            "calls",
            "direct_keys",
            "migration_candidate",
            "calls_without_usage",
            "unpriced_calls",
            "truncated_streams",
        ),
        ("direct_keys",),
    ),
    ("latency", ("p50_ms", "p95_ms", "ttft_p50_ms", "slowest_model"), ("latency_by_model",)),
    (
        "failover",
        ("error_rate", "rate_429", "outage_windows", "fallbacks_saved", "workflows_failing_without_fallback"),
        ("outage_windows", "workflows_without_fallback"),
    ),
    ("compare", ("p50_diff_ms", "cost_per_call_change", "error_rate_a", "error_rate_b"), ("comparison",)),
    ("tiers", ("violating_calls", "estimated_saving_usd"), ("violations", "savings")),
]
_BUILDERS = {
    "inventory": inventory.build,
    "cost": cost.build,
    "latency": latency.build,
    "failover": failover.build,
    "compare": compare.build,
    "tiers": tiers.build,
}


def build(con: duckdb.DuckDBPyConnection, params: ReportParams) -> Report:
    anchored = resolve_window(con, params)
    until = anchored.until
    since = params.since if params.since is not None else (until - WEEK if until is not None else None)
    week = replace(
        anchored,
        since=since,
        until=until,
        brief=True,
        sample_cap=min(params.sample_cap, WEEKLY_SAMPLE_CAP),
        resamples=min(params.resamples, WEEKLY_RESAMPLES),
    )
    report = Report(
        kind="weekly", title="Weekly review", period=(since, until), filters=dict(params.filters), based_on=0
    )
    summaries = []
    for section, keys, tables in _SECTIONS:
        if section == "tiers" and week.policy is None and not tiers.default_policy_path().exists():
            report.notes.append(
                "Tiers: no policy file (tiers.toml in MODELMETER_HOME, or --policy), so no tier check."
            )
            continue
        part = _BUILDERS[section](con, week)
        if section == "inventory":
            report.based_on = part.based_on
        report.headlines += [_prefixed(section, h) for h in part.headlines if h.key in keys]
        report.tables += [t for t in part.tables if t.name in tables]
        report.charts += [c for c in part.charts if c.table in tables or c.name == "spend_by_day"]
        if any(c.name == "spend_by_day" for c in part.charts):
            report.tables.append(part.table("spend_by_day"))
        report.notes += [f"{section.capitalize()}: {note}" for note in part.notes]
        if part.summary:
            summaries.append(f"{section.capitalize()}: {part.summary}")
    report.summary = " ".join(summaries)
    return report


def _prefixed(section: str, headline: Headline) -> Headline:
    return replace(headline, key=f"{section}.{headline.key}")
