"""Weekly review: one page that says what to do next, then the week's numbers by theme.

The page opens with ranked findings (the workflow to migrate first, how the migrated workflow
compares, budgets at risk, policy breaks, incidents, data-quality problems when there are any), each
one sentence pointing to its section; then one section per theme (spend, budgets, migration,
reliability, latency, policy, data quality). `SECTIONS` is the page's outline: another part of the
page is one more entry there and in `build`'s parts.

The week ends at --until (default: just after the latest call) and starts 7 days earlier, or at the
first call when the data holds less than a week (so the page states the same period as every other
report over the same data), unless --since says otherwise. Most sections are computed from a rollup
of the week (`rollup.py`: one grouped aggregate plus two latency histograms), handed to the reports'
own `summarise` functions, so a headline means the same on this page as in its report. The compare
section is the compare report itself over the same window: the same estimates, intervals and seed.

Counts, rates, sums and headline percentiles are exact (the histograms only locate the few values
a headline percentile needs). Percentiles in the latency tables are read from the histograms,
within `histogram.RELATIVE_ERROR` of exact, and say so; the latency report keeps exact ones.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import duckdb
import polars as pl

from modelmeter.reports import budgets, compare, cost, failover, histogram, inventory, latency, tiers
from modelmeter.reports import measures as m
from modelmeter.reports.model import Finding, Headline, Report, Section, Table
from modelmeter.reports.params import ReportParams, scope_of
from modelmeter.reports.rollup import ERROR, OK, WeekRollup, build_rollup, calls_where
from modelmeter.reports.source import fetch_row

WEEK = timedelta(days=7)
AT_RISK = ("fail", "warn")  # budget statuses the page calls at risk

# The page's outline: (section, title, headlines as part.key, tables, charts, lead cards), in order.
SECTIONS: list[Section] = [
    Section(
        "spend",
        "Spend",
        (
            "cost.spend_usd",
            "cost.spend_wow_change",
            "cost.cost_per_call_usd",
            "cost.top_mover",
            "cost.reported_minus_estimated_usd",
        ),
        ("spend_by_provider", "spend_by_workflow", "top_movers"),
        ("spend_by_day",),
    ),
    Section("budgets", "Budgets", ("budgets.at_risk",), ("budgets",)),
    Section(
        "migration",
        "Gateway migration",
        (
            "inventory.migration_candidate",
            "compare.recommendation",
            "inventory.direct_keys",
            "compare.p50_diff_ms",
            "compare.cost_per_call_change",
            "compare.error_rate_a",
            "compare.error_rate_b",
        ),
        ("comparison", "direct_keys"),
        ("p50_diff",),
        lead=2,
    ),
    Section(
        "reliability",
        "Reliability",
        (
            "failover.error_rate",
            "failover.outage_windows",
            "failover.rate_429",
            "failover.fallbacks_saved",
            "failover.workflows_failing_without_fallback",
        ),
        ("outage_windows", "workflows_without_fallback"),
        ("errors_by_hour",),
    ),
    Section(
        "latency",
        "Latency",
        ("latency.p50_ms", "latency.p95_ms", "latency.ttft_p50_ms", "latency.slowest_model"),
        ("latency_spread", "latency_by_model"),
        ("latency_spread",),
    ),
    Section(
        "policy",
        "Tier policy",
        ("tiers.violating_calls", "tiers.estimated_saving_usd"),
        ("violations", "savings"),
    ),
    Section(
        "data-quality",
        "Data quality",
        (
            "inventory.calls",
            "inventory.calls_without_usage",
            "inventory.unpriced_calls",
            "inventory.truncated_streams",
        ),
        lead=0,
    ),
]


def build(con: duckdb.DuckDBPyConnection, params: ReportParams) -> Report:
    week = _week(con, params)
    rollup = build_rollup(con, week)
    report = Report(
        kind="weekly",
        title="Weekly review",
        period=(week.since, week.until),
        filters=dict(params.filters),
        based_on=rollup.total(),
        sections=list(SECTIONS),
    )
    exact = _exact_percentiles(con, week, rollup)
    parts: dict[str, Report | None] = {
        "cost": _cost(con, week, rollup, rollup_is_week=params.since is None),
        "budgets": _budgets(con, week),
        "inventory": inventory.summarise(_inventory_rows(rollup), week),
        "compare": compare.build(con, week),
        "failover": failover.summarise(con, _failover_rates(rollup), week),
        "latency": _latency(rollup, week, exact),
        "tiers": _tiers(rollup, week),
    }
    shown_charts = {name for section in SECTIONS for name in section.charts}
    for name, part in parts.items():
        if part is None:
            continue
        charts = [c for c in part.charts if c.name in shown_charts]
        needed = {name for section in SECTIONS for name in section.tables} | {
            table for c in charts for table in (c.table, c.bands) if table
        }
        report.headlines += [_prefixed(name, h) for h in part.headlines]
        report.tables += [t for t in part.tables if t.name in needed]
        report.charts += charts
        report.notes += [f"{name.capitalize()}: {note}" for note in part.notes]
    if parts["tiers"] is None:
        report.notes.append(
            "Tiers: no policy file (tiers.toml in MODELMETER_HOME, or --policy), so no tier check."
        )
    if parts["budgets"] is None:
        report.notes.append(
            "Budgets: no budgets file (budgets.toml in MODELMETER_HOME, or --budgets), so no budget status."
        )
    report.findings = _findings(report, parts)
    report.summary = " ".join(f.text for f in report.findings[:3])
    return report


def _week(con: duckdb.DuckDBPyConnection, params: ReportParams) -> ReportParams:
    """`params` with the window filled in: up to just after the last call, 7 days long at most."""
    scope = scope_of(params)
    row = fetch_row(
        con,
        f"SELECT min(start_time) AS first, max(start_time) AS last FROM calls WHERE {scope.where}",
        scope.args,
    )
    until = params.until
    if until is None and row["last"] is not None:
        until = row["last"] + timedelta(microseconds=1)
    since = params.since
    if since is None and until is not None:
        since = until - WEEK if row["first"] is None else max(until - WEEK, row["first"])
    return params.with_window(since, until)


def _prefixed(section: str, headline: Headline) -> Headline:
    return replace(headline, key=f"{section}.{headline.key}")


def _cost(
    con: duckdb.DuckDBPyConnection, week: ReportParams, rollup: WeekRollup, rollup_is_week: bool
) -> Report:
    """The cost summary from the rollup; `rollup_is_week` when the rollup holds exactly the last 7 days."""
    both_costs = pl.col("priced") & pl.col("reported")
    daily = rollup.calls.group_by("day", "provider", "workflow").agg(
        pl.col("calls").sum(),
        calls_where(pl.col("priced")).alias("priced_calls"),
        pl.col("spend_usd").sum(),
        calls_where(pl.col("usage_known") & ~pl.col("priced")).alias("unpriced_calls"),
        calls_where(pl.col("priced"), "io_tokens").alias("priced_tokens"),
        calls_where(both_costs, "spend_usd").alias("estimated_where_reported"),
        calls_where(both_costs, "reported_usd").alias("reported_usd"),
        calls_where(both_costs).alias("reported_calls"),
    )
    daily = daily.with_columns((pl.col("day") * 86_400_000_000).cast(pl.Datetime("us", "UTC")))
    if week.until is None:
        return cost.summarise(daily, week, None, None)
    week_start = week.until - WEEK
    if rollup_is_week:
        this_week = rollup.calls.group_by("workflow", "model").agg(
            calls_where(pl.col("priced"), "spend_usd").alias("spend_usd"),
            calls_where(pl.col("priced")).alias("priced_calls"),
            pl.col("calls").sum(),
        )
    else:
        this_week = cost.week_spend(con, week.with_window(week_start, week.until))
    prior_week = cost.week_spend(con, week.with_window(week_start - WEEK, week_start))
    return cost.summarise(daily, week, this_week, prior_week)


def _budgets(con: duckdb.DuckDBPyConnection, week: ReportParams) -> Report | None:
    """Each budget's status at the end of the window, or None without a budgets file."""
    path = week.budgets or budgets.default_config_path()
    if week.budgets is None and not path.exists():
        return None
    at = week.until
    if at is None:
        return None
    checks = budgets.check_budgets(con, budgets.load_budgets(path), at)
    table = pl.DataFrame(
        [
            {
                "budget": c.budget.label,
                "status": c.status,
                "spent_usd": c.spent_usd,
                "forecast_usd": c.projected_usd,
                "warn_usd": c.budget.warn,
                "fail_usd": c.budget.fail,
                "calls": c.calls,
                "why": c.reason,
            }
            for c in checks
        ],
        schema={
            "budget": pl.String,
            "status": pl.String,
            "spent_usd": pl.Float64,
            "forecast_usd": pl.Float64,
            "warn_usd": pl.Float64,
            "fail_usd": pl.Float64,
            "calls": pl.Int64,
            "why": pl.String,
        },
    ).sort(pl.col("status").replace_strict({"fail": 0, "warn": 1}, default=2, return_dtype=pl.Int8), "budget")
    at_risk = table.filter(pl.col("status").is_in(AT_RISK))
    report = Report(
        kind="budgets",
        title="Budgets",
        period=(week.since, week.until),
        filters=dict(week.filters),
        based_on=int(table.select(pl.col("calls").max()).item() or 0),
        headlines=[
            Headline(
                "at_risk",
                "Budgets at risk",
                at_risk.height,
                "count",
                f"Budgets of {path.name} at warn or fail on {at:%Y-%m-%d %H:%M} UTC: spend so far in the "
                "calendar period, or its forecast at the trailing run rate, reaches a limit.",
                int(at_risk["calls"].sum() or 0),
            )
        ],
        tables=[Table("budgets", f"Budgets ({path.name}), as of the end of the window", table)],
    )
    return report


def _inventory_rows(rollup: WeekRollup) -> pl.DataFrame:
    return rollup.calls.group_by("workflow", "tier", "provider", "route", "key_fingerprint", "auth_kind").agg(
        pl.col("calls").sum(),
        calls_where(ERROR).alias("errors"),
        pl.col("spend_usd").sum(),
        calls_where(pl.col("priced")).alias("priced_calls"),
        calls_where(pl.col("usage_known") & ~pl.col("priced")).alias("unpriced_calls"),
        calls_where(OK & ~pl.col("usage_known")).alias("calls_without_usage"),
        calls_where(pl.col("truncated")).alias("truncated_streams"),
        pl.col("last_seen").max(),
    )


def _exact_percentiles(
    con: duckdb.DuckDBPyConnection, week: ReportParams, rollup: WeekRollup
) -> dict[str, float | None]:
    """The percentiles the page prints as headlines, exact, found with the histograms' help."""
    everything = pl.lit(True)
    targets = {
        "duration_p50_ms": _target(rollup.durations, "duration_ms", 0.5, "TRUE", everything),
        "duration_p95_ms": _target(rollup.durations, "duration_ms", 0.95, "TRUE", everything),
        "ttft_p50_ms": _target(rollup.ttfts, "ttft_ms", 0.5, "TRUE", everything),
    }
    scope = scope_of(week).and_(m.OK)
    values = histogram.exact_quantiles(con, scope, list(targets.values()), ["workflow", "model", "route"])
    return dict(zip(targets, values, strict=True))


def _target(frame: pl.DataFrame, column: str, q: float, where: str, rows: pl.Expr) -> histogram.Target:
    merged = (
        frame.filter(pl.col(histogram.BUCKET).is_not_null())
        .group_by(histogram.BUCKET)
        .agg(pl.col(histogram.COUNT).sum())
        .sort(histogram.BUCKET)
    )
    buckets, counts = merged[histogram.BUCKET].to_numpy(), merged[histogram.COUNT].to_numpy()
    return histogram.Target(column, q, buckets, counts, where, rows)


def _latency(rollup: WeekRollup, week: ReportParams, exact: dict[str, float | None]) -> Report:
    keys = ["model", "provider", "route", "gateway"]
    total = {"calls": rollup.total(), **_percentiles(rollup, []).row(0, named=True)}
    total.update((name, exact[name]) for name in ("duration_p50_ms", "duration_p95_ms", "ttft_p50_ms"))
    by_model = _percentiles(rollup, keys).sort(
        "ok_calls", *keys, descending=[True, False, False, False, False], nulls_last=True
    )
    shown = [
        measure for measure in latency.MEASURES if measure.key in ("calls", "p50_ms", "p95_ms", "ttft_p50_ms")
    ]
    spread = histogram.quantiles(
        rollup.durations.filter(pl.col("model").is_not_null()), ["model"], latency.SPREAD
    ).rename({histogram.COUNT: "ok_calls"})
    return latency.summarise(total, by_model, shown, week, histogram.APPROXIMATE, spread=spread)


def _percentiles(rollup: WeekRollup, by: list[str]) -> pl.DataFrame:
    """Duration and TTFT percentiles with the calls they rest on, per group of `by` (one row if empty)."""
    durations = histogram.quantiles(
        rollup.durations, by, {f"duration_p{round(q * 100)}_ms": q for q in latency.QUANTILES}
    ).rename({histogram.COUNT: "ok_calls"})
    ttfts = histogram.quantiles(rollup.ttfts, by, {"ttft_p50_ms": 0.5, "ttft_p95_ms": 0.95}).rename(
        {histogram.COUNT: "streamed_calls"}
    )
    return durations.join(ttfts, on=by, how="left", nulls_equal=True) if by else durations.hstack(ttfts)


def _failover_rates(rollup: WeekRollup) -> pl.DataFrame:
    return rollup.calls.group_by("workflow").agg(
        pl.col("calls").sum(),
        calls_where(ERROR).alias("errors"),
        calls_where(pl.col("rate_limited")).alias("http_429"),
        calls_where(pl.col("fallback")).alias("fallbacks"),
        calls_where(pl.col("fallback") & OK).alias("fallbacks_saved"),
    )


def _tiers(rollup: WeekRollup, week: ReportParams) -> Report | None:
    """The tier check, or None without a policy file (the page then says so instead)."""
    if week.policy is None and not tiers.default_policy_path().exists():
        return None
    path = tiers.policy_path(week)
    priced = pl.col("priced")

    def priced_sum(column: str) -> pl.Expr:
        return calls_where(priced, column).cast(pl.Float64).alias(column)

    usage = (
        rollup.calls.filter(pl.col("model").is_not_null())
        .group_by("workflow", "tier", "model", "operation")
        .agg(
            pl.col("calls").sum(),
            calls_where(priced).alias("priced_calls"),
            calls_where(priced, "spend_usd").alias("spend_usd"),
            *[
                priced_sum(column)
                for column in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
            ],
        )
        .with_columns(pl.when(pl.col("priced_calls") > 0).then(pl.col("spend_usd")).alias("spend_usd"))
    )
    return tiers.check(usage, tiers.load_policy(path), path, week)


def _findings(report: Report, parts: dict[str, Report | None]) -> list[Finding]:
    """What to do next, most urgent first: one sentence each, with its number and its section."""

    def value(key: str) -> object:
        try:
            return report.headline(key).value
        except KeyError:
            return None

    urgent: list[Finding] = []
    rest: list[Finding] = []
    if (part := parts["budgets"]) is not None:
        at_risk = part.table("budgets").frame.filter(pl.col("status").is_in(AT_RISK))
        for row in at_risk.head(3).iter_rows(named=True):
            finding = Finding(
                f"Budget {row['budget']} is at {row['status']}: {row['why']}.", "budgets", "act"
            )
            (urgent if row["status"] == "fail" else rest).append(finding)
    candidate = value("inventory.migration_candidate")
    if candidate and (part := parts["inventory"]) is not None:
        rest.append(Finding(part.summary, "migration"))
    if (part := parts["compare"]) is not None and value("compare.recommendation"):
        top = part.table("comparison").frame.row(0, named=True)
        caveat = f" Not like for like: {top['not_like_for_like']}." if top["not_like_for_like"] else ""
        finding = Finding(
            f"{top['group']} on {part.filters['b'][0]}: {top['recommendation']}, {top['why']}.{caveat}",
            "migration",
            "act" if top["recommendation"] == "revert" else "info",
        )
        (urgent if finding.level == "act" else rest).append(finding)
    violating = value("tiers.violating_calls")
    if isinstance(violating, int) and violating and (part := parts["tiers"]) is not None:
        workflows = part.table("violations").frame["workflow"].drop_nulls().unique().sort().to_list()
        rest.append(
            Finding(
                f"{violating:,} calls broke the tier policy ({', '.join(workflows[:3])}); "
                f"moving to the cheapest allowed models would save "
                f"{_usd(value('tiers.estimated_saving_usd'))} a week.",
                "policy",
                "watch",
            )
        )
    if (part := parts["failover"]) is not None:
        outages = part.table("outage_windows").frame
        if outages.height:
            listed = "; ".join(
                f"{row['provider']} {row['start']:%a %H:%M}-{row['end']:%H:%M} "
                f"({row['error_rate']:.0%} failed)"
                for row in outages.head(3).iter_rows(named=True)
            )
            more = f" and {outages.height - 3} more" if outages.height > 3 else ""
            rest.append(Finding(f"{outages.height} outage windows: {listed}{more}.", "reliability", "watch"))
        unprotected = part.table("workflows_without_fallback").frame
        if unprotected.height:
            names = ", ".join(unprotected["workflow"].head(3).to_list())
            rest.append(
                Finding(
                    f"{unprotected.height} workflow{'s' if unprotected.height > 1 else ''} failed with no "
                    f"fallback in place ({names}).",
                    "reliability",
                    "watch",
                )
            )
    problems = [
        (value("inventory.unpriced_calls"), "calls had usage but no price (their spend is missing)"),
        (value("inventory.calls_without_usage"), "successful calls had no token usage"),
        (value("inventory.truncated_streams"), "streams were cut before their end"),
    ]
    found = [f"{count:,} {what}" for count, what in problems if isinstance(count, int) and count]
    if found:
        rest.append(Finding("Data quality: " + "; ".join(found) + ".", "data-quality", "watch"))
    return urgent + rest


def _usd(amount: object) -> str:
    return f"${amount:,.2f}" if isinstance(amount, int | float) else "an unknown amount"
