"""Cost: where the money goes, how it moves week over week, and how our estimate compares to the bill.

One grouped query (day x provider x model x workflow x team x tier x route) feeds every breakdown;
two small ones (spend per workflow and model) compare the last 7 days of the window with the 7 days
before them.
"""

from __future__ import annotations

from datetime import timedelta

import duckdb
import polars as pl

from modelmeter.reports import measures as m
from modelmeter.reports.model import Chart, Headline, Report, Table
from modelmeter.reports.params import ReportParams, scope_of
from modelmeter.reports.source import DAY_NUMBER, as_day, fetch, resolve_window

DIMENSIONS = ("provider", "model", "workflow", "team", "tier", "route")
WEEK = timedelta(days=7)
_BOTH_COSTS = "reported_cost_usd IS NOT NULL AND cost_usd IS NOT NULL"

MEASURES = [
    m.CALLS,
    m.SPEND,
    m.Measure(
        "cost_per_call_usd",
        "Cost per call",
        f"(sum(cost_usd) FILTER (WHERE {m.PRICED}) / count(*) FILTER (WHERE {m.PRICED}))::DOUBLE",
        "usd",
        "Estimated spend / priced calls.",
        f"count(*) FILTER (WHERE {m.PRICED})",
    ),
    m.Measure(
        "cost_per_1k_tokens_usd",
        "Cost per 1k tokens",
        f"(1000 * sum(cost_usd) FILTER (WHERE {m.PRICED}) "
        f"/ sum(input_tokens + output_tokens) FILTER (WHERE {m.PRICED}))::DOUBLE",
        "usd",
        "1000 x estimated spend / (input + output tokens) of priced calls.",
        f"count(*) FILTER (WHERE {m.PRICED})",
    ),
    m.Measure(
        "input_tokens",
        "Input tokens",
        "sum(input_tokens)",
        "tokens",
        "Sum of input_tokens (cache reads and writes included) over calls with known usage.",
        "count(input_tokens)",
    ),
    m.Measure(
        "output_tokens",
        "Output tokens",
        "sum(output_tokens)",
        "tokens",
        "Sum of output_tokens (reasoning included) over calls with known usage.",
        "count(output_tokens)",
    ),
    m.UNPRICED_CALLS,
    m.Measure(
        "reported_cost_usd",
        "Gateway-reported cost",
        f"sum(reported_cost_usd) FILTER (WHERE {_BOTH_COSTS})::DOUBLE",
        "usd",
        "Sum of reported_cost_usd over calls that have both a reported cost and our estimate.",
        f"count(*) FILTER (WHERE {_BOTH_COSTS})",
    ),
    m.Measure(
        "reported_minus_estimated_usd",
        "Reported minus estimated",
        f"sum(reported_cost_usd - cost_usd) FILTER (WHERE {_BOTH_COSTS})::DOUBLE",
        "usd",
        "Sum of (reported_cost_usd - cost_usd) over calls with both: "
        "positive means billed above our estimate.",
        f"count(*) FILTER (WHERE {_BOTH_COSTS})",
    ),
]


def build(con: duckdb.DuckDBPyConnection, params: ReportParams) -> Report:
    params = resolve_window(con, params)
    scope = scope_of(params)
    daily = fetch(
        con,
        f"""
        SELECT {DAY_NUMBER} AS day, {", ".join(DIMENSIONS)}, gateway,
          count(*) AS calls,
          count(cost_usd) AS priced_calls,
          sum(cost_usd::DOUBLE) AS spend_usd,
          count(input_tokens) AS input_known,
          sum(input_tokens) AS input_tokens,
          count(output_tokens) AS output_known,
          sum(output_tokens) AS output_tokens,
          count(*) FILTER (WHERE usage_known AND cost_usd IS NULL) AS unpriced_calls,
          sum(input_tokens + output_tokens) FILTER (WHERE {m.PRICED}) AS priced_tokens,
          sum(cache_read_tokens) AS cache_read,
          sum(cache_write_tokens) AS cache_write,
          sum(reasoning_tokens) AS reasoning,
          sum(cost_usd::DOUBLE) FILTER (WHERE {_BOTH_COSTS}) AS estimated_where_reported,
          sum(reported_cost_usd::DOUBLE) FILTER (WHERE {_BOTH_COSTS}) AS reported_usd,
          count(*) FILTER (WHERE {_BOTH_COSTS}) AS reported_calls
        FROM calls WHERE {scope.where}
        GROUP BY ALL
        """,
        scope.args,
    ).with_columns(as_day())
    this_week: pl.DataFrame | None = None
    prior_week: pl.DataFrame | None = None
    if params.until is not None:
        this_week = week_spend(con, params.with_window(params.until - WEEK, params.until))
        prior_week = week_spend(con, params.with_window(params.until - 2 * WEEK, params.until - WEEK))
    report = summarise(daily, params, this_week, prior_week)
    report.title = "Cost: spend by day, week, provider, model, workflow, team and tier"
    report.tables[3:3] = [
        Table(
            "spend_by_day_and_dimension",
            "Spend by day and dimension",
            _spend_by_period(daily, "1d", DIMENSIONS),
        ),
        Table("spend_by_week", "Spend by week and dimension", _spend_by_period(daily, "1w", DIMENSIONS)),
        *[
            Table(
                f"spend_by_{name}",
                f"Spend by {name}",
                spend_by(daily, [name]).sort("spend_usd", descending=True, nulls_last=True),
            )
            for name in DIMENSIONS
            if name not in ("provider", "workflow")
        ],
        Table("tokens_by_kind", "Tokens by kind", _tokens_by_kind(daily)),
        Table(
            "reported_vs_estimated",
            "Gateway-reported cost vs our estimate",
            _reported_vs_estimated(daily),
            "Calls where a gateway or provider reported what it billed, beside our genai-prices estimate.",
        ),
    ]
    return report


def summarise(
    daily: pl.DataFrame,
    params: ReportParams,
    this_week: pl.DataFrame | None,
    prior_week: pl.DataFrame | None,
) -> Report:
    """The cost summary: headlines, spend by day, provider and workflow, its chart, and week over week.

    `daily` groups the calls in scope by (at least) day, provider and workflow with the columns of the
    daily query (a measure whose inputs it lacks is left out); `this_week` and `prior_week` are the
    spend per workflow and model of the window's last 7 days and the 7 before (see `week_spend`), or
    None without an end to the window. The weekly page and this report share it.
    """
    by_day = spend_by(daily, ["day", "provider"]).sort("day", "provider")
    by_provider = spend_by(daily, ["provider"]).sort("spend_usd", descending=True, nulls_last=True)
    report = Report(
        kind="cost",
        title="Cost",
        period=(params.since, params.until),
        filters=dict(params.filters),
        based_on=int(daily["calls"].sum()),
        headlines=headlines(daily),
    )
    report.tables += [
        Table("spend_by_day", "Spend by day and provider", by_day),
        Table("spend_by_provider", "Spend by provider", by_provider),
        Table(
            "spend_by_workflow",
            "Spend by workflow",
            spend_by(daily, ["workflow"]).sort("spend_usd", descending=True, nulls_last=True),
        ),
    ]
    report.charts.append(_spend_chart(by_day, by_provider))
    if this_week is not None and prior_week is not None:
        movers, week_heads = week_over_week(this_week, prior_week)
        report.headlines += week_heads
        report.tables.append(Table("top_movers", "Top movers, last 7 days vs the 7 before", movers))
    report.notes.append(basis_note(report))
    return report


def _spend_chart(by_day: pl.DataFrame, by_provider: pl.DataFrame) -> Chart:
    """Spend per day stacked by provider, titled with the largest provider and the busiest day."""
    title = "Estimated spend per day by provider"
    priced = by_provider.filter(pl.col("spend_usd") > 0)
    days = by_day.group_by("day").agg(pl.col("spend_usd").sum()).filter(pl.col("spend_usd") > 0)
    if not priced.is_empty() and not days.is_empty():
        top = priced.row(0, named=True)
        busiest = days.sort("spend_usd", descending=True).row(0, named=True)
        title = (
            f"{top['provider']} takes {top['share']:.0%} of spend; "
            f"the busiest day is {busiest['day']:%a %d %b} (${busiest['spend_usd']:,.2f})"
        )
    return Chart("spend_by_day", title, "spend_by_day", "stacked_bars", "day", "spend_usd", "provider", "USD")


def basis_note(report: Report) -> str:
    return (
        f"Based on {report.based_on:,} calls, of which {report.headline('spend_usd').based_on:,} priced. "
        "Costs are estimates from token usage at list prices (genai-prices plus overrides) unless reported."
    )


def headlines(daily: pl.DataFrame) -> list[Headline]:
    """The headline measures, evaluated over the daily aggregate (one query serves headlines and tables).

    `daily` may be any grouping of calls with the columns of the daily query; a measure whose input
    columns it lacks is left out (the weekly page's rollup has no per-column usage counts).
    """

    def total(column: str) -> float:
        return float(daily[column].sum() or 0) if column in daily.columns else 0.0

    calls, priced, reported = int(total("calls")), int(total("priced_calls")), int(total("reported_calls"))
    spend = total("spend_usd") if priced else None
    values: dict[str, tuple[float | int | None, int]] = {
        "calls": (calls, calls),
        "spend_usd": (spend, priced),
        "cost_per_call_usd": (spend / priced if spend is not None else None, priced),
        "cost_per_1k_tokens_usd": (
            1000 * spend / total("priced_tokens") if spend is not None and total("priced_tokens") else None,
            priced,
        ),
        "input_tokens": (int(total("input_tokens")), int(total("input_known"))),
        "output_tokens": (int(total("output_tokens")), int(total("output_known"))),
        "unpriced_calls": (int(total("unpriced_calls")), calls),
        "reported_cost_usd": (total("reported_usd") if reported else None, reported),
        "reported_minus_estimated_usd": (
            total("reported_usd") - total("estimated_where_reported") if reported else None,
            reported,
        ),
    }
    return [
        m.headline(measure, *values[measure.key])
        for measure in MEASURES
        if set(_INPUTS.get(measure.key, ())) <= set(daily.columns)
    ]


# the daily columns a headline needs besides calls, priced_calls and spend_usd
_INPUTS = {
    "cost_per_1k_tokens_usd": ("priced_tokens",),
    "input_tokens": ("input_tokens", "input_known"),
    "output_tokens": ("output_tokens", "output_known"),
    "unpriced_calls": ("unpriced_calls",),
    "reported_cost_usd": ("reported_usd", "reported_calls"),
    "reported_minus_estimated_usd": ("reported_usd", "estimated_where_reported", "reported_calls"),
}


def spend_by(daily: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    total = daily["spend_usd"].sum() or None
    return (
        daily.group_by(keys)
        .agg(pl.col("calls", "priced_calls", "spend_usd", "priced_tokens").sum())
        .with_columns(
            # unpriced, not zero: no spend where no call of the group had a price
            pl.when(pl.col("priced_calls") > 0).then(pl.col("spend_usd")).alias("spend_usd"),
        )
        .with_columns(
            (pl.col("spend_usd") / pl.col("priced_calls")).alias("cost_per_call_usd"),
            (1000 * pl.col("spend_usd") / pl.col("priced_tokens")).alias("cost_per_1k_tokens_usd"),
            (pl.col("spend_usd") / total).alias("share")
            if total
            else pl.lit(None, pl.Float64).alias("share"),
        )
    )


def _spend_by_period(daily: pl.DataFrame, period: str, dimensions: tuple[str, ...]) -> pl.DataFrame:
    """Long format: one row per (period start, dimension, value), for every breakdown dimension."""
    column = "day" if period == "1d" else "week"
    dated = daily.with_columns(pl.col("day").dt.truncate(period).alias(column))
    parts = [
        dated.group_by(column, pl.col(name).cast(pl.String).alias("value"))
        .agg(pl.col("calls", "spend_usd").sum())
        .with_columns(pl.lit(name).alias("dimension"))
        for name in dimensions
    ]
    return (
        pl.concat(parts)
        .select(column, "dimension", "value", "calls", "spend_usd")
        .sort(column, "dimension", "value")
    )


def _tokens_by_kind(daily: pl.DataFrame) -> pl.DataFrame:
    """Input and output split into parts: cache reads and writes are inside input, reasoning inside output."""

    def total(column: str) -> int:
        return int(daily[column].sum() or 0)

    kinds = {
        "input (not cached)": total("input_tokens") - total("cache_read") - total("cache_write"),
        "cache read": total("cache_read"),
        "cache write": total("cache_write"),
        "output (visible)": total("output_tokens") - total("reasoning"),
        "reasoning": total("reasoning"),
    }
    return pl.DataFrame({"kind": list(kinds), "tokens": list(kinds.values())})


def _reported_vs_estimated(daily: pl.DataFrame) -> pl.DataFrame:
    return (
        daily.filter(pl.col("reported_calls") > 0)
        .group_by("gateway")
        .agg(pl.col("reported_calls", "estimated_where_reported", "reported_usd").sum())
        .with_columns(
            (pl.col("reported_usd") - pl.col("estimated_where_reported")).alias("difference_usd"),
            (pl.col("reported_usd") / pl.col("estimated_where_reported") - 1).alias("difference_ratio"),
        )
        .sort("reported_usd", descending=True)
    )


def week_spend(con: duckdb.DuckDBPyConnection, params: ReportParams) -> pl.DataFrame:
    """Spend, priced calls and calls per workflow and model in the window of `params`."""
    scope = scope_of(params)
    return fetch(
        con,
        f"""
        SELECT workflow, model, sum(cost_usd)::DOUBLE AS spend_usd, count(cost_usd) AS priced_calls,
          count(*) AS calls
        FROM calls WHERE {scope.where}
        GROUP BY ALL
        """,
        scope.args,
    )


def _week_amount(spend: str, priced: str, calls: str) -> pl.Expr:
    """A week's spend of a workflow and model: 0 without calls that week, unknown when none was priced."""
    return (
        pl.when(pl.col(calls).is_null())
        .then(0.0)
        .when(pl.col(priced).fill_null(0) > 0)
        .then(pl.col(spend).fill_null(0.0))
    )


def week_over_week(this: pl.DataFrame, prior: pl.DataFrame) -> tuple[pl.DataFrame, list[Headline]]:
    """Movers and headlines from the spend per workflow and model of two weeks (see `week_spend`)."""
    rows = this.join(
        prior, on=["workflow", "model"], how="full", coalesce=True, nulls_equal=True, suffix="_prior"
    ).select(
        "workflow",
        "model",
        _week_amount("spend_usd", "priced_calls", "calls").alias("this_week_usd"),
        _week_amount("spend_usd_prior", "priced_calls_prior", "calls_prior").alias("prior_week_usd"),
        pl.col("priced_calls").fill_null(0).alias("this_week_priced"),
        pl.col("priced_calls_prior").fill_null(0).alias("prior_week_priced"),
        (pl.col("calls").fill_null(0) + pl.col("calls_prior").fill_null(0)).alias("calls"),
    )
    this_priced, prior_priced = int(rows["this_week_priced"].sum()), int(rows["prior_week_priced"].sum())
    this_week = float(rows["this_week_usd"].sum()) if this_priced else None
    prior_week = float(rows["prior_week_usd"].sum()) if prior_priced else None
    movers = (
        rows.with_columns(
            (pl.col("this_week_usd") - pl.col("prior_week_usd")).alias("change_usd"),
            (pl.col("this_week_usd") / pl.col("prior_week_usd") - 1).alias("change_ratio"),
        )
        .with_columns(pl.col("change_ratio").replace([float("inf")], [None]))
        .sort(pl.col("change_usd").abs(), descending=True, nulls_last=True)
        .head(10)
    )
    heads = [
        Headline(
            "spend_this_week_usd",
            "Spend, last 7 days",
            this_week,
            "usd",
            "Estimated spend of priced calls in the last 7 days of the window.",
            this_priced,
        ),
        Headline(
            "spend_prior_week_usd",
            "Spend, prior 7 days",
            prior_week,
            "usd",
            "Estimated spend of priced calls in the 7 days before that.",
            prior_priced,
        ),
        Headline(
            "spend_wow_change",
            "Week-over-week change",
            this_week / prior_week - 1 if this_week is not None and prior_week else None,
            "ratio",
            "Spend last 7 days / spend prior 7 days - 1 (unknown without a priced prior week).",
            this_priced + prior_priced,
        ),
    ]
    known = movers.filter(pl.col("change_usd").is_not_null())
    if not known.is_empty():
        top = known.row(0, named=True)
        label = f"{top['workflow'] or '(no workflow)'} · {top['model']}"
        heads.append(
            Headline(
                "top_mover",
                "Top mover",
                f"{label} {top['change_usd']:+,.2f} USD",
                "text",
                "The workflow and model whose weekly spend changed most in absolute USD.",
                int(top["calls"]),
            )
        )
    return movers, heads
