"""Failover: how often calls fail, when a provider was down, and whether retries and fallbacks saved them.

Outage windows are found in DuckDB: 5-minute buckets per provider in which at least
`OUTAGE_MIN_ERRORS` calls failed and at least `OUTAGE_MIN_SHARE` of its calls failed; adjacent bad
buckets merge into one window (gaps and islands over the bucket number).
"""

from __future__ import annotations

import duckdb
import polars as pl

from modelmeter import semconv
from modelmeter.reports import measures as m
from modelmeter.reports.model import Chart, Headline, Report, Table
from modelmeter.reports.params import ReportParams, scope_of
from modelmeter.reports.source import DAY_NUMBER, as_day, fetch, fetch_row, resolve_window

OUTAGE_BUCKET_MINUTES = 10
OUTAGE_MIN_ERRORS = 3
OUTAGE_MIN_SHARE = 0.5

IS_429 = "http_status = 429"
IS_5XX = "http_status BETWEEN 500 AND 599"
SAVED_BY_FALLBACK = f"fallback_from IS NOT NULL AND {m.OK}"
_FIRST_CHOICE = f"json_extract_string(attributes, '$.\"{semconv.MM_GATEWAY_FIRST_CHOICE}\"')"
# CASE, not AND: DuckDB then parses the JSON only on gateway rows
GATEWAY_FALLBACK = (
    "CASE WHEN route = 'gateway' THEN attempts > 1 OR coalesce("
    f"{_FIRST_CHOICE} <> coalesce(platform, ''), false) ELSE false END"
)

_TARGET_KEYS = ["workflow", "provider", "model", "route", "gateway"]

_MEASURES = [
    m.CALLS,
    m.ERROR_RATE,
    m.rate("rate_429", "429 rate", IS_429, "Calls answered HTTP 429 (rate limited) / all calls."),
    m.rate("rate_5xx", "5xx rate", IS_5XX, "Calls answered HTTP 5xx / all calls."),
    m.rate("timeout_rate", "Timeout rate", m.TIMEOUT, "Calls whose error_type mentions timeout / all calls."),
    m.Measure(
        "retried_calls",
        "Retried calls",
        "count(*) FILTER (WHERE attempts > 1)",
        "calls",
        "Calls that needed more than one attempt.",
    ),
    m.Measure(
        "extra_attempts",
        "Extra attempts",
        "sum(attempts - 1)",
        "count",
        "Sum of (attempts - 1): tries beyond the first.",
    ),
    m.Measure(
        "retried_spend_usd",
        "Spend on retried calls",
        "sum(cost_usd) FILTER (WHERE attempts > 1)::DOUBLE",
        "usd",
        "Estimated spend of calls that were retried (failed tries are usually not billed).",
        "count(cost_usd) FILTER (WHERE attempts > 1)",
    ),
    m.Measure(
        "fallbacks_saved",
        "Calls saved by a fallback",
        f"count(*) FILTER (WHERE {SAVED_BY_FALLBACK})",
        "calls",
        "Calls with fallback_from set (the app moved to another model or provider) that succeeded.",
    ),
    m.Measure(
        "gateway_fallbacks",
        "Gateway-internal fallbacks",
        f"count(*) FILTER (WHERE {GATEWAY_FALLBACK})",
        "calls",
        "Gateway calls served by another platform than the gateway's first choice, or tried more than once.",
    ),
]


def build(con: duckdb.DuckDBPyConnection, params: ReportParams) -> Report:
    params = resolve_window(con, params)
    scope = scope_of(params)
    rates = fetch(
        con,
        f"""
        SELECT {", ".join(_TARGET_KEYS)},
          count(*) AS calls,
          count(*) FILTER (WHERE {m.ERROR}) AS errors,
          count(*) FILTER (WHERE {IS_429}) AS http_429,
          count(*) FILTER (WHERE {IS_5XX}) AS http_5xx,
          count(*) FILTER (WHERE {m.TIMEOUT}) AS timeouts,
          count(*) FILTER (WHERE attempts > 1) AS retried,
          count(*) FILTER (WHERE fallback_from IS NOT NULL) AS fallbacks,
          count(*) FILTER (WHERE {SAVED_BY_FALLBACK}) AS fallbacks_saved,
          count(*) FILTER (WHERE {GATEWAY_FALLBACK}) AS gateway_fallbacks,
          sum(attempts - 1) AS extra_attempts,
          sum(cost_usd::DOUBLE) FILTER (WHERE attempts > 1) AS retried_spend_usd,
          count(cost_usd) FILTER (WHERE attempts > 1) AS retried_priced
        FROM calls WHERE {scope.where}
        GROUP BY ALL
        """,
        scope.args,
    )
    report = summarise(con, rates, params)
    by_target = (
        rates.group_by("provider", "model", "route", "gateway")
        .agg(pl.exclude(*_TARGET_KEYS).sum())
        .with_columns(
            (pl.col(name) / pl.col("calls")).alias(f"{name}_rate")
            for name in ("errors", "http_429", "http_5xx", "timeouts")
        )
        .sort("errors_rate", descending=True)
    )
    fallbacks = rates.filter(pl.col("fallbacks") > 0).select(
        "workflow", "provider", "model", "route", "fallbacks", "fallbacks_saved"
    )
    report.tables += [
        Table(
            "failures_by_provider_model_route",
            "Error, 429, 5xx and timeout rates by provider, model and route",
            by_target,
        ),
        Table("fallbacks", "Fallbacks by workflow and target model", fallbacks),
    ]
    daily = fetch(
        con,
        f"""
        SELECT {DAY_NUMBER} AS day, provider,
          count(*) AS calls, avg(({m.ERROR})::INTEGER) AS error_rate
        FROM calls WHERE {scope.where} GROUP BY ALL ORDER BY day, provider
        """,
        scope.args,
    ).with_columns(as_day())
    report.tables.append(Table("errors_by_day", "Error rate per day by provider", daily))
    return report


def summarise(con: duckdb.DuckDBPyConnection, rates: pl.DataFrame, params: ReportParams) -> Report:
    """Headlines, outage windows and the workflows failing without a fallback.

    `rates` groups the calls in scope by (at least) workflow with the counts of the rates query; the
    headlines whose counts it lacks are left out. Outage windows and failed attempts are read here.
    """
    scope = scope_of(params)
    report = Report(
        kind="failover",
        title="Failover: errors, outages, retries and fallbacks",
        period=(params.since, params.until),
        filters=dict(params.filters),
        based_on=int(rates["calls"].sum()),
        headlines=_headlines(rates),
    )
    unprotected = (
        rates.filter(pl.col("workflow").is_not_null())
        .group_by("workflow")
        .agg(pl.col("calls", "errors", "fallbacks").sum())
        .filter((pl.col("errors") > 0) & (pl.col("fallbacks") == 0))
        .with_columns((pl.col("errors") / pl.col("calls")).alias("error_rate"))
        .sort(["errors", "workflow"], descending=[True, False])  # ties by name: the same order every run
    )
    outages = outage_windows(con, params)
    # `attempts` rows carry the same attribution columns as `calls`, so the scope applies to them directly
    retries = fetch_row(
        con,
        f"""
        SELECT count(*) AS failed_attempts, sum(duration_ms) AS failed_attempt_ms
        FROM attempts WHERE {scope.where} AND status = 'error'
        """,
        scope.args,
    )
    report.headlines += [
        Headline(
            "outage_windows",
            "Outage windows",
            outages.height,
            "count",
            f"Runs of {OUTAGE_BUCKET_MINUTES}-minute buckets in which a provider had "
            f">= {OUTAGE_MIN_ERRORS} errors "
            f"and >= {OUTAGE_MIN_SHARE:.0%} of its calls failed.",
            int(outages["calls"].sum() or 0),
        ),
        Headline(
            "workflows_failing_without_fallback",
            "Workflows failing with no fallback",
            unprotected.height,
            "count",
            "Workflows with failed calls and no call with fallback_from set: nothing catches their errors.",
            int(unprotected["calls"].sum() or 0),
        ),
    ]
    if "retried" in rates.columns:
        report.headlines.append(
            Headline(
                "failed_attempt_ms",
                "Time lost in failed tries",
                retries["failed_attempt_ms"],
                "ms",
                "Sum of duration_ms of failed attempts (rows of `attempts`) of retried calls in scope.",
                int(rates["retried"].sum()),
            )
        )
    hourly = _errors_by_hour(con, params)
    report.tables += [
        Table("outage_windows", "Outage windows", outages),
        Table("workflows_without_fallback", "Workflows that failed with no fallback in place", unprotected),
        Table("errors_by_hour", "Error rate per hour by provider", hourly),
    ]
    report.charts.append(
        Chart(
            "errors_by_hour",
            _errors_title(hourly, outages),
            "errors_by_hour",
            "lines",
            "hour",
            "error_rate",
            "provider",
            y_title="calls failed",
            bands="outage_windows",
        )
    )
    report.notes.append(
        f"Based on {report.based_on:,} calls; retried calls had {retries['failed_attempts']:,} "
        "failed attempts in `attempts`."
    )
    return report


def _headlines(rates: pl.DataFrame) -> list[Headline]:
    """The headline measures, evaluated over the grouped rates (one query serves headlines and tables).

    A measure whose count `rates` lacks (the weekly page's rollup counts no retries or timeouts) is
    left out.
    """

    def total(column: str) -> int:
        return int(rates[column].sum() or 0) if column in rates.columns else 0

    calls = total("calls")

    def share(column: str) -> float | None:
        return total(column) / calls if calls else None

    values: dict[str, tuple[float | int | None, int]] = {
        "calls": (calls, calls),
        "error_rate": (share("errors"), calls),
        "rate_429": (share("http_429"), calls),
        "rate_5xx": (share("http_5xx"), calls),
        "timeout_rate": (share("timeouts"), calls),
        "retried_calls": (total("retried"), calls),
        "extra_attempts": (total("extra_attempts"), calls),
        "retried_spend_usd": (
            float(rates["retried_spend_usd"].sum()) if total("retried_priced") else None,
            total("retried_priced"),
        ),
        "fallbacks_saved": (total("fallbacks_saved"), calls),
        "gateway_fallbacks": (total("gateway_fallbacks"), calls),
    }
    return [
        m.headline(measure, *values[measure.key])
        for measure in _MEASURES
        if _COUNT_OF.get(measure.key, "calls") in rates.columns
    ]


# the column of the rates query each headline is computed from (besides calls)
_COUNT_OF = {
    "error_rate": "errors",
    "rate_429": "http_429",
    "rate_5xx": "http_5xx",
    "timeout_rate": "timeouts",
    "retried_calls": "retried",
    "extra_attempts": "extra_attempts",
    "retried_spend_usd": "retried_priced",
    "fallbacks_saved": "fallbacks_saved",
    "gateway_fallbacks": "gateway_fallbacks",
}


def outage_windows(con: duckdb.DuckDBPyConnection, params: ReportParams) -> pl.DataFrame:
    scope = scope_of(params)
    return fetch(
        con,
        f"""
        WITH buckets AS (
          SELECT provider, epoch_us(start_time) // {OUTAGE_BUCKET_MINUTES * 60_000_000} AS bucket,
            count(*) AS calls, count(*) FILTER (WHERE {m.ERROR}) AS errors
          FROM calls WHERE {scope.where} GROUP BY ALL
        ),
        bad AS (
          SELECT *, bucket - row_number() OVER (PARTITION BY provider ORDER BY bucket) AS island
          FROM buckets WHERE errors >= {OUTAGE_MIN_ERRORS} AND errors >= {OUTAGE_MIN_SHARE} * calls
        )
        SELECT provider,
          make_timestamptz(min(bucket) * {OUTAGE_BUCKET_MINUTES * 60_000_000}) AS start,
          make_timestamptz((max(bucket) + 1) * {OUTAGE_BUCKET_MINUTES * 60_000_000}) AS "end",
          sum(calls) AS calls, sum(errors) AS errors, sum(errors) / sum(calls) AS error_rate
        FROM bad GROUP BY provider, island ORDER BY start
        """,
        scope.args,
    )


def _errors_by_hour(con: duckdb.DuckDBPyConnection, params: ReportParams) -> pl.DataFrame:
    scope = scope_of(params)
    return fetch(
        con,
        f"""
        SELECT epoch_us(start_time) // 3600000000 AS hour, provider,
          count(*) AS calls, count(*) FILTER (WHERE {m.ERROR}) AS errors
        FROM calls WHERE {scope.where} GROUP BY ALL ORDER BY hour, provider
        """,
        scope.args,
    ).with_columns(
        (pl.col("hour") * 3_600_000_000).cast(pl.Datetime("us", "UTC")),
        (pl.col("errors") / pl.col("calls")).alias("error_rate"),
    )


def _errors_title(hourly: pl.DataFrame, outages: pl.DataFrame) -> str:
    """The error chart's finding: the worst hour, and how many outage windows the shading marks."""
    failing = hourly.filter(pl.col("errors") > 0).sort("error_rate", "errors", descending=True)
    if failing.is_empty():
        return "No failed calls in this window"
    worst = failing.row(0, named=True)
    windows = (
        f"{outages.height} outage window{'s' if outages.height != 1 else ''} shaded"
        if outages.height
        else "no outage window"
    )
    return (
        f"Errors peaked at {worst['error_rate']:.0%} of {worst['provider']} calls "
        f"on {worst['hour']:%a %d %b %H:00}; {windows}"
    )
