"""Latency: duration and time to first token percentiles, and output speed, by model, provider and route.

Percentiles are exact (DuckDB quantile_cont) over successful calls: a failed call's duration says how
fast it failed, not how fast the model answers, so errors are left to the failover report.
"""

from __future__ import annotations

from typing import Any

import duckdb
import polars as pl

from modelmeter.reports import measures as m
from modelmeter.reports.model import Chart, Headline, Report, Table
from modelmeter.reports.params import ReportParams, scope_of
from modelmeter.reports.source import DAY_NUMBER, as_day, fetch, resolve_window

QUANTILES = (0.5, 0.9, 0.95, 0.99)
STREAMED = f"{m.OK} AND ttft_ms IS NOT NULL"
# decode speed: output tokens over the time after the first token (the whole call when not streamed)
TOKENS_PER_S = "output_tokens / ((duration_ms - coalesce(ttft_ms, 0)) / 1000.0)"
SPEED_ROWS = f"{m.OK} AND output_tokens > 0 AND duration_ms > coalesce(ttft_ms, 0)"


_ORDINAL = {0.5: "Median", 0.9: "90th percentile", 0.95: "95th percentile", 0.99: "99th percentile"}
MEASURES = [
    m.CALLS,
    *[
        m.quantile(
            f"p{round(q * 100)}_ms",
            f"p{round(q * 100)} duration",
            "duration_ms",
            q,
            m.OK,
            f"{_ORDINAL[q]} duration_ms of successful calls.",
        )
        for q in QUANTILES
    ],
    m.quantile(
        "ttft_p50_ms",
        "p50 time to first token",
        "ttft_ms",
        0.5,
        STREAMED,
        "Median ttft_ms (request sent to first output token) of successful streamed calls.",
    ),
    m.quantile(
        "ttft_p95_ms",
        "p95 time to first token",
        "ttft_ms",
        0.95,
        STREAMED,
        "95th percentile ttft_ms of successful streamed calls.",
    ),
    m.Measure(
        "tokens_per_s_p50",
        "Output tokens per second (median)",
        f"quantile_cont({TOKENS_PER_S}, 0.5) FILTER (WHERE {SPEED_ROWS})",
        "tokens_per_s",
        "Median of output_tokens / (duration_ms - ttft_ms) per successful call with output "
        "(ttft 0 when not streamed).",
        f"count(*) FILTER (WHERE {SPEED_ROWS})",
    ),
]


def build(con: duckdb.DuckDBPyConnection, params: ReportParams) -> Report:
    params = resolve_window(con, params)
    scope = scope_of(params)
    aggregates = f"""
          count(*) AS calls,
          count(*) FILTER (WHERE {m.OK}) AS ok_calls,
          quantile_cont(duration_ms, {list(QUANTILES)}) FILTER (WHERE {m.OK}) AS duration_q,
          count(*) FILTER (WHERE {STREAMED}) AS streamed_calls,
          quantile_cont(ttft_ms, [0.5, 0.95]) FILTER (WHERE {STREAMED}) AS ttft_q,
          count(*) FILTER (WHERE {SPEED_ROWS}) AS speed_calls,
          quantile_cont({TOKENS_PER_S}, 0.5) FILTER (WHERE {SPEED_ROWS}) AS tokens_per_s_p50
    """
    spread = [
        *[
            pl.col("duration_q").list.get(i).alias(f"duration_p{round(q * 100)}_ms")
            for i, q in enumerate(QUANTILES)
        ],
        pl.col("ttft_q").list.get(0).alias("ttft_p50_ms"),
        pl.col("ttft_q").list.get(1).alias("ttft_p95_ms"),
    ]
    overall = fetch(con, f"SELECT {aggregates} FROM calls WHERE {scope.where}", scope.args).with_columns(
        spread
    )
    grouped = fetch(
        con,
        f"SELECT model, provider, route, gateway, {aggregates} FROM calls WHERE {scope.where} GROUP BY ALL",
        scope.args,
    ).with_columns(spread)
    by_model = grouped.drop("calls", "duration_q", "ttft_q", "speed_calls").sort("ok_calls", descending=True)
    spread_rows = fetch(
        con,
        f"""
        SELECT model, count(*) AS ok_calls,
          quantile_cont(duration_ms, {list(SPREAD.values())}) AS q
        FROM calls WHERE {scope.where} AND {m.OK} AND model IS NOT NULL
        GROUP BY ALL
        """,
        scope.args,
    ).with_columns(pl.col("q").list.get(i).alias(name) for i, name in enumerate(SPREAD))
    report = summarise(overall.row(0, named=True), by_model, MEASURES, params, spread=spread_rows.drop("q"))
    over_time = fetch(
        con,
        f"""
        SELECT {DAY_NUMBER} AS day, model, route,
          count(*) FILTER (WHERE {m.OK}) AS ok_calls,
          quantile_cont(duration_ms, 0.5) FILTER (WHERE {m.OK}) AS duration_p50_ms,
          quantile_cont(duration_ms, 0.95) FILTER (WHERE {m.OK}) AS duration_p95_ms,
          quantile_cont(ttft_ms, 0.5) FILTER (WHERE {STREAMED}) AS ttft_p50_ms
        FROM calls WHERE {scope.where}
        GROUP BY ALL
        ORDER BY day, model, route
        """,
        scope.args,
    ).with_columns(as_day(), (pl.col("model") + " · " + pl.col("route")).alias("series"))
    report.tables.append(Table("latency_by_day", "Latency over time by model and route", over_time))
    report.charts.append(
        Chart(
            "p95_by_day",
            _p95_title(over_time),
            "latency_by_day",
            "lines",
            "day",
            "duration_p95_ms",
            "series",
            y_title="p95 duration (ms)",
        )
    )
    return report


def _p95_title(over_time: pl.DataFrame) -> str:
    """The day chart's finding: the slowest day of the slowest model and route."""
    known = over_time.filter(pl.col("duration_p95_ms").is_not_null() & (pl.col("ok_calls") >= 30))
    if known.is_empty():
        return "p95 duration per day by model and route"
    worst = known.sort(["duration_p95_ms", "series", "day"], descending=[True, False, False]).row(
        0, named=True
    )
    return (
        f"The slowest p95 of a day: {worst['series']} at {worst['duration_p95_ms']:,.0f} ms "
        f"on {worst['day']:%a %d %b}"
    )


# the quantiles of duration_ms that draw each model's latency distribution
SPREAD = {"p10_ms": 0.1, "p25_ms": 0.25, "p50_ms": 0.5, "p75_ms": 0.75, "p90_ms": 0.9}


def _spread_chart(spread: pl.DataFrame) -> Chart:
    """Per model: p10 to p90 as a line, p25 to p75 as a box, the median as a tick; titled by the
    slowest and the fastest median among models with at least 30 successful calls."""
    ranked = spread.filter(pl.col("ok_calls") >= 30).sort(  # ties by name: the same title every run
        ["p50_ms", "model"], descending=[True, False], nulls_last=True
    )
    title = "Duration of successful calls per model"
    if ranked.height >= 2:
        slow, fast = ranked.row(0, named=True), ranked.row(-1, named=True)
        title = (
            f"{slow['model']} is the slowest at a {slow['p50_ms']:,.0f} ms median; "
            f"{fast['model']} the fastest at {fast['p50_ms']:,.0f} ms"
        )
    return Chart(
        "latency_spread",
        title,
        "latency_spread",
        "ranges",
        "model",
        "p50_ms",
        y_title="ms (line p10 to p90, box p25 to p75, tick median)",
        low="p10_ms",
        high="p90_ms",
        box_low="p25_ms",
        box_high="p75_ms",
    )


def summarise(
    total: dict[str, Any],
    by_model: pl.DataFrame,
    measures: list[m.Measure],
    params: ReportParams,
    approximate: str = "",
    spread: pl.DataFrame | None = None,
) -> Report:
    """Headlines (the `measures` whose values `total` holds), the table by model and route, the slowest.

    `total` has calls, ok_calls, streamed_calls and the percentile columns of `by_model`
    (duration_p50_ms, ..., ttft_p95_ms), over all calls in scope. `approximate` qualifies the
    table's percentiles (and the slowest model read from it) when they are not exact. `spread`, per
    model, has ok_calls and the SPREAD quantiles of duration: the latency distribution chart.
    """
    values = {
        "calls": (total["calls"], total["calls"]),
        **{
            f"p{round(q * 100)}_ms": (total[f"duration_p{round(q * 100)}_ms"], total["ok_calls"])
            for q in QUANTILES
        },
        "ttft_p50_ms": (total["ttft_p50_ms"], total["streamed_calls"]),
        "ttft_p95_ms": (total["ttft_p95_ms"], total["streamed_calls"]),
    }
    if "tokens_per_s_p50" in total:
        values["tokens_per_s_p50"] = (total["tokens_per_s_p50"], total["speed_calls"])
    report = Report(
        kind="latency",
        title="Latency: duration, time to first token and output speed",
        period=(params.since, params.until),
        filters=dict(params.filters),
        based_on=int(total["calls"]),
        headlines=[
            m.headline(measure, *values[measure.key]) for measure in measures if measure.key in values
        ],
    )
    report.tables.append(
        Table("latency_by_model", "Latency by model, provider and route", by_model, approximate)
    )
    if spread is not None:
        spread = spread.sort(["p50_ms", "model"], descending=[True, False], nulls_last=True)
        report.tables.append(Table("latency_spread", "Latency distribution per model", spread, approximate))
        report.charts.append(_spread_chart(spread))
    slowest = by_model.filter(pl.col("ok_calls") >= 30).sort(
        ["duration_p95_ms", "model", "route"], descending=[True, False, False], nulls_last=True
    )
    if not slowest.is_empty():
        top = slowest.row(0, named=True)
        report.headlines.append(
            Headline(
                "slowest_model",
                "Slowest model (p95)",
                f"{top['model']} via {top['route']}: {top['duration_p95_ms']:,.0f} ms",
                "text",
                "Model and route with the highest p95 duration among those with at least 30 "
                f"successful calls. {approximate}".strip(),
                int(top["ok_calls"]),
            )
        )
    report.notes.append(
        f"Based on {report.based_on:,} calls; percentiles over the "
        f"{report.headline('p50_ms').based_on:,} successful ones, time to first token over the "
        f"{report.headline('ttft_p50_ms').based_on:,} successful streamed ones."
    )
    return report
