"""Weekly review: one page with the headlines of every other report over the last 7 days.

The week ends at --until (default: just after the latest call) and starts 7 days earlier unless
--since says otherwise. The page is computed from a rollup of the week (`rollup.py`: one grouped
aggregate plus two latency histograms) instead of running each report: the sections below turn the
rollup into the frames each report summarises, and the reports' own `summarise` functions do the rest,
so a headline means the same on this page as in its report. Besides the rollup the page reads the
prior week's spend per workflow and model, the outage buckets and the failed attempts.

Counts, rates, sums and headline percentiles are exact (the histograms only locate the few values
a headline percentile needs). Percentiles in the tables (latency by model and route, compare per
group) are read from the histograms, within `histogram.RELATIVE_ERROR` of exact, and say so; the
latency and compare reports keep exact ones throughout.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import duckdb
import numpy as np
import polars as pl

from modelmeter.reports import compare, cost, failover, histogram, inventory, latency, tiers
from modelmeter.reports import measures as m
from modelmeter.reports.model import Headline, Report, Table
from modelmeter.reports.params import ReportParams, scope_of
from modelmeter.reports.rollup import ERROR, OK, WeekRollup, build_rollup, calls_where
from modelmeter.reports.source import as_day, fetch_row

WEEK = timedelta(days=7)

# (section, headline keys, table names) in page order
_SECTIONS: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
    (
        "cost",
        ("spend_usd", "spend_wow_change", "top_mover", "cost_per_call_usd", "reported_minus_estimated_usd"),
        ("spend_by_provider", "spend_by_workflow", "top_movers", "spend_by_day"),
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


def build(con: duckdb.DuckDBPyConnection, params: ReportParams) -> Report:
    week = _week(con, params)
    rollup = build_rollup(con, week)
    report = Report(
        kind="weekly",
        title="Weekly review",
        period=(week.since, week.until),
        filters=dict(params.filters),
        based_on=rollup.total(),
    )
    arms = compare.arms_of(con, week) if week.by == "route" else None
    comparison = _Comparison(rollup, arms) if arms is not None else None
    exact = _exact_percentiles(con, week, rollup, comparison)
    sections = {
        "cost": _cost(con, week, rollup),
        "inventory": inventory.summarise(_inventory_rows(rollup), week),
        "latency": _latency(rollup, week, exact),
        "failover": failover.summarise(con, _failover_rates(rollup), week),
        # other splits than by route are not in the rollup: the compare report runs on its own
        "compare": comparison.report(week, exact) if comparison is not None else compare.build(con, week),
        "tiers": _tiers(rollup, week),
    }
    summaries = []
    for name, keys, tables in _SECTIONS:
        part = sections[name]
        if part is None:
            report.notes.append(
                "Tiers: no policy file (tiers.toml in MODELMETER_HOME, or --policy), so no tier check."
            )
            continue
        report.headlines += [_prefixed(name, h) for h in part.headlines if h.key in keys]
        report.tables += [t for t in part.tables if t.name in tables]
        report.charts += [c for c in part.charts if c.table in tables]
        report.notes += [f"{name.capitalize()}: {note}" for note in part.notes]
        if part.summary:
            summaries.append(f"{name.capitalize()}: {part.summary}")
    report.summary = " ".join(summaries)
    return report


def _week(con: duckdb.DuckDBPyConnection, params: ReportParams) -> ReportParams:
    """`params` with the window filled in: up to just after the last call, 7 days long by default."""
    until = params.until
    if until is None:
        scope = scope_of(params)
        last = fetch_row(con, f"SELECT max(start_time) AS last FROM calls WHERE {scope.where}", scope.args)
        until = last["last"] + timedelta(microseconds=1) if last["last"] is not None else None
    since = params.since if params.since is not None or until is None else until - WEEK
    return params.with_window(since, until)


def _prefixed(section: str, headline: Headline) -> Headline:
    return replace(headline, key=f"{section}.{headline.key}")


def _cost(con: duckdb.DuckDBPyConnection, week: ReportParams, rollup: WeekRollup) -> Report:
    both_costs = pl.col("priced") & pl.col("reported")
    daily = (
        rollup.calls.group_by("day", "provider", "workflow")
        .agg(
            pl.col("calls").sum(),
            calls_where(pl.col("priced")).alias("priced_calls"),
            pl.col("spend_usd").sum(),
            calls_where(pl.col("usage_known") & ~pl.col("priced")).alias("unpriced_calls"),
            calls_where(pl.col("priced"), "io_tokens").alias("priced_tokens"),
            calls_where(both_costs, "spend_usd").alias("estimated_where_reported"),
            calls_where(both_costs, "reported_usd").alias("reported_usd"),
            calls_where(both_costs).alias("reported_calls"),
        )
        .with_columns(as_day())
    )
    report = Report(
        kind="cost",
        title="Cost",
        period=(week.since, week.until),
        filters=dict(week.filters),
        based_on=int(daily["calls"].sum()),
        headlines=cost.headlines(daily),
    )
    report.tables += [
        Table(
            "spend_by_day",
            "Spend by day and provider",
            cost.spend_by(daily, ["day", "provider"]).sort("day", "provider"),
        ),
        *[
            Table(
                f"spend_by_{name}",
                f"Spend by {name}",
                cost.spend_by(daily, [name]).sort("spend_usd", descending=True),
            )
            for name in ("provider", "workflow")
        ],
    ]
    report.charts.append(cost.SPEND_BY_DAY_CHART)
    if week.until is not None:
        week_start = week.until - WEEK
        if week.since == week_start:  # the rollup is that week
            this_week = rollup.calls.group_by("workflow", "model").agg(
                calls_where(pl.col("priced"), "spend_usd").alias("spend_usd"),
                calls_where(pl.col("priced")).alias("priced_calls"),
                pl.col("calls").sum(),
            )
        else:
            this_week = cost.week_spend(con, week.with_window(week_start, week.until))
        prior_week = cost.week_spend(con, week.with_window(week_start - WEEK, week_start))
        movers, week_heads = cost.week_over_week(this_week, prior_week)
        report.headlines += week_heads
        report.tables.append(Table("top_movers", "Top movers, last 7 days vs the 7 before", movers))
    report.notes.append(cost.basis_note(report))
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
    con: duckdb.DuckDBPyConnection, week: ReportParams, rollup: WeekRollup, comparison: _Comparison | None
) -> dict[str, float | None]:
    """The percentiles the page prints as headlines, exact, found with the histograms' help."""
    everything = pl.lit(True)
    targets = {
        "duration_p50_ms": _target(rollup.durations, "duration_ms", 0.5, "TRUE", everything),
        "duration_p95_ms": _target(rollup.durations, "duration_ms", 0.95, "TRUE", everything),
        "ttft_p50_ms": _target(rollup.ttfts, "ttft_ms", 0.5, "TRUE", everything),
    }
    if comparison is not None and comparison.top is not None:
        for arm in ("a", "b"):
            where, rows = comparison.group_filter(comparison.top, arm)
            targets[f"p50_ms_{arm}"] = _target(
                comparison.durations.filter(rows), "duration_ms", 0.5, where, rows
            )
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
    return latency.summarise(total, by_model, shown, week, histogram.APPROXIMATE)


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


class _Comparison:
    """Compare by route from the rollup: exact counts, rates and costs; latency from the histograms."""

    def __init__(self, rollup: WeekRollup, arms: compare.Arms) -> None:
        self.arms = arms
        self.group = ["workflow", "model", "arm"]
        priced = calls_where(pl.col("priced"))
        counts = (
            self._by_arm(rollup.calls)
            .group_by(self.group)
            .agg(
                pl.col("calls").sum(),
                (calls_where(ERROR) / pl.col("calls").sum()).alias("error_rate"),
                (pl.col("spend_usd").sum() / priced).alias("cost_per_call_usd"),
                # sample standard deviation of cost per priced call, from its sum and sum of squares
                ((pl.col("spend_sq").sum() - pl.col("spend_usd").sum() ** 2 / priced) / (priced - 1))
                .clip(lower_bound=0)
                .sqrt()
                .alias("cost_sd"),
                priced.alias("priced_calls"),
                calls_where(OK).alias("ok_calls"),
            )
            .with_columns(
                pl.when(pl.col("priced_calls") > 0).then(pl.col("cost_per_call_usd")),
                pl.when(pl.col("priced_calls") > 1).then(pl.col("cost_sd")),
            )
        )
        self.durations, self.ttfts = self._by_arm(rollup.durations), self._by_arm(rollup.ttfts)
        p50_p95 = histogram.quantiles(self.durations, self.group, {"p50_ms": 0.5, "p95_ms": 0.95})
        ttft = histogram.quantiles(self.ttfts, self.group, {"ttft_p50_ms": 0.5})
        self.stats = compare.widen(
            counts.join(p50_p95.drop(histogram.COUNT), on=self.group, how="left").join(
                ttft.drop(histogram.COUNT), on=self.group, how="left"
            )
        )
        paired = compare.paired_groups(self.stats)
        self.top = paired.row(0, named=True) if not paired.is_empty() else None

    def _by_arm(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The rows of either arm, with compare's group names and an `arm` column."""
        return frame.filter(pl.col("route").is_in([self.arms.a, self.arms.b])).with_columns(
            pl.col("workflow").fill_null(compare.NO_WORKFLOW),
            pl.col("model").fill_null(compare.NO_MODEL),
            pl.when(pl.col("route") == self.arms.a).then(pl.lit("a")).otherwise(pl.lit("b")).alias("arm"),
        )

    def group_filter(self, group: dict, arm: str) -> tuple[str, pl.Expr]:
        """The calls of one group and arm: as SQL over `calls`, and over frames with the same columns."""
        route = self.arms.a if arm == "a" else self.arms.b
        literal = histogram.sql_literal
        sql = (
            f"coalesce(workflow, {literal(compare.NO_WORKFLOW)}) = {literal(group['workflow'])} "
            f"AND coalesce(model, {literal(compare.NO_MODEL)}) = {literal(group['model'])} "
            f"AND route = {literal(route)}"
        )
        rows = (
            (pl.col("workflow").fill_null(compare.NO_WORKFLOW) == group["workflow"])
            & (pl.col("model").fill_null(compare.NO_MODEL) == group["model"])
            & (pl.col("route") == route)
        )
        return sql, rows

    def report(self, week: ReportParams, exact: dict[str, float | None]) -> Report:
        stats = self.stats
        if self.top is not None:  # the headline group's p50s, exact
            top = (pl.col("workflow") == self.top["workflow"]) & (pl.col("model") == self.top["model"])
            stats = stats.with_columns(
                pl.when(top)
                .then(pl.lit(exact[f"p50_ms_{arm}"]))
                .otherwise(pl.col(f"p50_ms_{arm}"))
                .alias(f"p50_ms_{arm}")
                for arm in ("a", "b")
            )
        histograms = {
            column: {
                key: (part[histogram.BUCKET].to_numpy(), part[histogram.COUNT].to_numpy())
                for key, part in frame.filter(pl.col(histogram.BUCKET).is_not_null())
                .group_by(*self.group, histogram.BUCKET)
                .agg(pl.col(histogram.COUNT).sum())
                .sort(histogram.BUCKET)
                .partition_by(self.group, as_dict=True)
                .items()
            }
            for column, frame in (("duration_ms", self.durations), ("ttft_ms", self.ttfts))
        }
        empty = (np.array([], dtype=np.int64), np.array([], dtype=np.int64))

        def replicates(group: dict, arm: str, column: str, q: float, rng: np.random.Generator) -> np.ndarray:
            buckets, counts = histograms[column].get((group["workflow"], group["model"], arm), empty)
            return histogram.quantile_replicates(buckets, counts, q, rng, week.resamples)

        return compare.summarise(
            stats,
            replicates,
            self.arms,
            week,
            "latency ones from log-bucket histograms of every successful call",
            histogram.APPROXIMATE,
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
