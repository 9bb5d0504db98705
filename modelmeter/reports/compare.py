"""Compare: arm A vs arm B (default: route direct vs gateway) per workflow and canonical model.

Point estimates (calls, error rate, p50 / p95 duration, median time to first token, cost per call)
are exact, computed in DuckDB over every call. Their 95% confidence intervals come from a seeded
bootstrap whose replicates are drawn without materialising resamples:
- a quantile of a resample of n values is an order statistic of the sorted sample, and the k-th
  smallest of n uniform draws follows Beta(k, n + 1 - k); so one sort of the sample plus `resamples`
  Beta draws give the bootstrap distribution of that order statistic (the interpolation between two
  neighbours that quantile_cont adds is ignored). The sample is drawn in DuckDB (a hash of the start
  time keeps about `sample_cap` calls per group and arm), so memory stays bounded at any table size;
- means (cost per call) and rates (errors) use their exact moments from DuckDB: normal draws with
  the standard error, binomial draws for rates (the bootstrap's large-n law).
Comparing within a workflow and model keeps the mix of work equal on both sides; a pooled
comparison would mostly measure a different mix. Even so the arms of a group may not be like for
like: each verdict says when they ran at different times, carried a different traffic mix (streamed
share, input size) or when an incident hit one arm only. Calls inside an outage window of their
provider are left out by default (`keep_incidents` keeps them); the notes say which. The weekly page
runs this report as it is, so both give the same estimates and intervals (one code path, one seed).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import numpy as np
import polars as pl

from modelmeter.reports import failover
from modelmeter.reports import measures as m
from modelmeter.reports.model import Chart, Headline, Report, Table
from modelmeter.reports.params import ReportParams, Scope, scope_of
from modelmeter.reports.source import fetch, resolve_window

MIN_CALLS_PER_ARM = 100  # below this a verdict would mostly be noise
# B is worse than A (recommend revert) when, at 95% confidence, errors rise by more than a point,
# cost per call by more than 5%, or the median by more than 100 ms and 10% of A's median
ERROR_TOLERANCE = 0.01
COST_TOLERANCE = 0.05
LATENCY_TOLERANCE_MS = 100
LATENCY_TOLERANCE_SHARE = 0.10
# the arms are not like for like when their periods overlap by less than half the longer one, or
# their streamed shares differ by over 10 points, or mean input tokens by over a quarter
PERIOD_OVERLAP = 0.5
MIX_SHARE = 0.10
MIX_TOKENS = 1.25
MAX_GROUPS = 50
Z_95 = 1.96
Z_POWER_80 = 0.84
_NOT_COMPARABLE = {"attributes", "trace_id", "span_id", "parent_span_id"}
NO_WORKFLOW, NO_MODEL = "(no workflow)", "(unknown model)"
_GROUP = f"coalesce(workflow, '{NO_WORKFLOW}') AS workflow, coalesce(model, '{NO_MODEL}') AS model"


@dataclass(frozen=True, slots=True)
class Arms:
    column: str
    a: str
    b: str

    def sql(self) -> str:
        return f"CASE WHEN {self.column}::VARCHAR = $arm_a THEN 'a' ELSE 'b' END"


def build(con: duckdb.DuckDBPyConnection, params: ReportParams) -> Report:
    params = resolve_window(con, params)
    arms = arms_of(con, params)
    base = scope_of(params).and_(f"{arms.column}::VARCHAR IN ($arm_a, $arm_b)", arm_a=arms.a, arm_b=arms.b)
    incident, incident_args = _in_outage(failover.outage_windows(con, params))
    scope = base if params.keep_incidents else base.and_(f"NOT ({incident})", **incident_args)
    stats = _exact_stats(con, scope, arms).join(
        _incident_calls(con, base.and_(incident, **incident_args), arms),
        on=["workflow", "model"],
        how="left",
    )
    paired = paired_groups(stats)
    samples = (
        _samples(con, scope, arms, paired, params.sample_cap).partition_by(
            "workflow", "model", "arm", as_dict=True
        )
        if not paired.is_empty()
        else {}
    )

    def replicates(group: dict, arm: str, column: str, q: float, rng: np.random.Generator) -> np.ndarray:
        sample = samples.get((group["workflow"], group["model"], arm))
        values = sample[column].drop_nulls().to_numpy().astype(float) if sample is not None else np.array([])
        return _quantile_replicates(values, q, rng, params.resamples)

    basis = (
        f"latency ones from samples of up to about {params.sample_cap:,} successful calls per group and arm"
    )
    report = summarise(stats, replicates, arms, params, basis)
    excluded = int(stats["incident_calls_a"].sum() or 0) + int(stats["incident_calls_b"].sum() or 0)
    report.notes.append(
        f"Incident hours kept: {excluded:,} calls inside outage windows are compared."
        if params.keep_incidents
        else f"Incident hours left out: {excluded:,} calls inside an outage window of their provider "
        "are not compared (--keep-incidents keeps them)."
    )
    return report


def _in_outage(windows: pl.DataFrame) -> tuple[str, dict[str, object]]:
    """SQL true for a call inside an outage window of its own provider, with its bound arguments."""
    clauses, args = [], {}
    for i, row in enumerate(windows.iter_rows(named=True)):
        clauses.append(
            f"(provider = $outage_provider_{i} AND start_time >= $outage_start_{i} "
            f"AND start_time < $outage_end_{i})"
        )
        args.update(
            {
                f"outage_provider_{i}": row["provider"],
                f"outage_start_{i}": row["start"],
                f"outage_end_{i}": row["end"],
            }
        )
    return (f"coalesce({' OR '.join(clauses)}, false)" if clauses else "false"), args


def _incident_calls(con: duckdb.DuckDBPyConnection, scope: Scope, arms: Arms) -> pl.DataFrame:
    """Calls per group and arm that fell inside an outage window of their provider."""
    counts = fetch(
        con,
        f"SELECT {_GROUP}, {arms.sql()} AS arm, count(*) AS incident_calls FROM calls "
        f"WHERE {scope.where} GROUP BY ALL",
        scope.args,
    )
    wide = counts.pivot(on="arm", index=["workflow", "model"], values="incident_calls")
    for arm in ("a", "b"):
        if arm not in wide.columns:
            wide = wide.with_columns(pl.lit(None, pl.Int64).alias(arm))
    return wide.select(
        pl.col("workflow").cast(pl.String),
        pl.col("model").cast(pl.String),
        pl.col("a").fill_null(0).cast(pl.Int64).alias("incident_calls_a"),
        pl.col("b").fill_null(0).cast(pl.Int64).alias("incident_calls_b"),
    )


_LEADING = (
    "group",
    "recommendation",
    "p50_diff_ms",
    "p50_diff_lo",
    "p50_diff_hi",
    "cost_change",
    "error_rate_a",
    "error_rate_b",
    "calls_a",
    "calls_b",
    "why",
    "not_like_for_like",
    "verdict",
)

# Bootstrap replicates of the q-quantile of a latency column for one (workflow, model) group and arm
QuantileReplicates = Callable[[dict, str, str, float, np.random.Generator], np.ndarray]


def paired_groups(stats: pl.DataFrame) -> pl.DataFrame:
    """The (workflow, model) groups with calls on both arms, largest first, at most MAX_GROUPS."""
    return stats.filter(pl.col("calls_a").is_not_null() & pl.col("calls_b").is_not_null()).head(MAX_GROUPS)


def summarise(
    stats: pl.DataFrame,
    replicates: QuantileReplicates,
    arms: Arms,
    params: ReportParams,
    latency_basis: str,
) -> Report:
    """Differences, intervals and verdicts per paired group, from the per-arm statistics.

    `stats` is wide (one row per workflow and model, largest first; `<stat>_a` and `<stat>_b` columns
    as `_exact_stats` returns them); `replicates` draws the latency bootstrap; `latency_basis` says
    what those draws rest on.
    """
    paired = paired_groups(stats)
    rng = np.random.default_rng(params.seed)
    rows = [
        _compare_group(group, replicates, arms, rng, params.resamples)
        for group in paired.iter_rows(named=True)
    ]
    comparison = pl.DataFrame(rows) if rows else pl.DataFrame()
    if rows:  # what a reader needs first leads (a narrow terminal shows the first columns)
        comparison = comparison.select(*_LEADING, pl.exclude(*_LEADING))
    calls_a = int(stats["calls_a"].sum() or 0)
    calls_b = int(stats["calls_b"].sum() or 0)
    report = Report(
        kind="compare",
        title=f"Compare: {arms.column} = {arms.a} (A) vs {arms.b} (B), per workflow and model",
        period=(params.since, params.until),
        filters={**params.filters, "by": (arms.column,), "a": (arms.a,), "b": (arms.b,)},
        based_on=calls_a + calls_b,
    )
    conclusive = sum(1 for row in rows if row["conclusive"])
    incidents = "" if params.keep_incidents else ", outside the outage windows of their provider"
    report.headlines += [
        Headline(
            "calls_a",
            f"Calls, {arms.a}",
            calls_a,
            "calls",
            f"Calls in scope with {arms.column} = {arms.a}{incidents}.",
            calls_a,
        ),
        Headline(
            "calls_b",
            f"Calls, {arms.b}",
            calls_b,
            "calls",
            f"Calls in scope with {arms.column} = {arms.b}{incidents}.",
            calls_b,
        ),
        Headline(
            "groups_compared",
            "Workflow x model groups with both arms",
            len(rows),
            "count",
            f"(workflow, model) pairs with calls on both sides (at most {MAX_GROUPS}, largest first).",
            sum(row["calls_a"] + row["calls_b"] for row in rows),
        ),
        Headline(
            "groups_conclusive",
            "Groups with enough calls to conclude",
            conclusive,
            "count",
            f"Groups with at least {MIN_CALLS_PER_ARM} calls on each side.",
            sum(row["calls_a"] + row["calls_b"] for row in rows if row["conclusive"]),
        ),
    ]
    if rows:
        top = rows[0]
        label = f"{top['workflow']} · {top['model']}"
        base = top["calls_a"] + top["calls_b"]
        report.headlines += [
            Headline(
                "p50_diff_ms",
                f"p50 duration, {arms.b} - {arms.a}",
                top["p50_diff_ms"],
                "ms",
                f"Median duration_ms of successful {arms.b} calls minus that of {arms.a} calls, "
                f"largest group ({label}). "
                f"95% CI [{_num(top['p50_diff_lo'])}, {_num(top['p50_diff_hi'])}] ms (bootstrap).",
                base,
            ),
            Headline(
                "cost_per_call_change",
                f"Cost per call, {arms.b} vs {arms.a}",
                top["cost_change"],
                "ratio",
                f"Mean cost_usd of priced calls on B over that on A, minus 1, largest group ({label}). "
                f"95% CI [{_change(top['cost_change_lo'])}, {_change(top['cost_change_hi'])}] (bootstrap).",
                base,
            ),
            Headline(
                "error_rate_a",
                f"Error rate on {arms.a}",
                top["error_rate_a"],
                "ratio",
                f"Calls with status error / calls on A, largest group ({label}).",
                top["calls_a"],
            ),
            Headline(
                "error_rate_b",
                f"Error rate on {arms.b}",
                top["error_rate_b"],
                "ratio",
                f"Calls with status error / calls on B, largest group ({label}).",
                top["calls_b"],
            ),
        ]
        report.headlines.append(
            Headline(
                "recommendation",
                f"Recommendation for {top['workflow']}",
                f"{top['recommendation']}: {top['why']}",
                "text",
                f"{label}: keep {arms.b}, revert to {arms.a}, or wait for more calls. B is worse "
                f"when errors rise by over {ERROR_TOLERANCE:.0%} points, cost per call by over "
                f"{COST_TOLERANCE:.0%}, or p50 by over {LATENCY_TOLERANCE_MS} ms and "
                f"{LATENCY_TOLERANCE_SHARE:.0%} of A's, all at 95% confidence.",
                base,
            )
        )
        report.summary = " ".join(f"{row['workflow']} · {row['model']}: {row['verdict']}" for row in rows[:3])
        report.tables.append(
            Table(
                "comparison",
                f"A = {arms.a}, B = {arms.b}: per workflow and model",
                comparison,
                "Differences are B - A; [lo, hi] are bootstrap 95% confidence intervals.",
            )
        )
        report.charts.append(_difference_chart(rows, arms))
    else:
        report.summary = f"No workflow and model has calls on both {arms.a} and {arms.b} in this window."
    report.tables.append(Table("arms", "Statistics per group and arm", stats))
    report.notes.append(
        f"Based on {report.based_on:,} calls ({calls_a:,} on {arms.a}, {calls_b:,} on {arms.b}). "
        f"Intervals: {params.resamples} bootstrap replicates (seed {params.seed}); {latency_basis}. "
        f"A verdict needs {MIN_CALLS_PER_ARM} calls per arm."
    )
    return report


def _difference_chart(rows: list[dict], arms: Arms) -> Chart:
    """p50 differences with their intervals, one line per group; the title states the largest group's."""
    top = rows[0]
    diff = top["p50_diff_ms"]
    if diff is None:
        title = f"p50 duration, {arms.b} - {arms.a}, per workflow and model"
    else:
        clear = _clear(top["p50_diff_lo"], top["p50_diff_hi"])
        title = (
            f"{arms.b} {'adds' if diff > 0 else 'saves'} {abs(diff):,.0f} ms at the median "
            f"for {top['group']}" + ("" if clear else " (not clearly different from zero)")
        )
    return Chart(
        "p50_diff",
        title,
        "comparison",
        "intervals",
        "group",
        "p50_diff_ms",
        y_title=f"p50 duration, {arms.b} - {arms.a} (ms), 95% interval",
        low="p50_diff_lo",
        high="p50_diff_hi",
    )


def arms_of(con: duckdb.DuckDBPyConnection, params: ReportParams) -> Arms:
    columns = {
        row[0]
        for row in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'calls'"
        ).fetchall()
    }
    if params.by not in columns or params.by in _NOT_COMPARABLE:
        raise ValueError(
            f"cannot compare by {params.by!r}: choose a column of `calls` such as route, run, gateway, model"
        )
    if params.by == "route":
        return Arms("route", params.a or "direct", params.b or "gateway")
    if params.a and params.b:
        return Arms(params.by, params.a, params.b)
    scope = scope_of(params)
    top = fetch(
        con,
        f"SELECT {params.by}::VARCHAR AS value, count(*) AS n FROM calls "
        f"WHERE {scope.where} AND {params.by} IS NOT NULL "
        f"GROUP BY 1 ORDER BY n DESC LIMIT 2",
        scope.args,
    )
    values = [v for v in top["value"].to_list() if v not in (params.a, params.b)]
    a = params.a or (values.pop(0) if values else None)
    b = params.b or (values.pop(0) if values else None)
    if a is None or b is None:
        raise ValueError(f"{params.by} has fewer than two values in scope: give --a and --b")
    return Arms(params.by, a, b)


def _exact_stats(con: duckdb.DuckDBPyConnection, scope: Scope, arms: Arms) -> pl.DataFrame:
    long = (
        fetch(
            con,
            f"""
        SELECT workflow, model, {arms.sql()} AS arm,
          count(*) AS calls,
          avg(({m.ERROR})::INTEGER) AS error_rate,
          quantile_cont(duration_ms, [0.5, 0.95]) FILTER (WHERE {m.OK}) AS duration_q,
          quantile_cont(ttft_ms, 0.5) FILTER (WHERE {m.OK} AND ttft_ms IS NOT NULL) AS ttft_p50_ms,
          avg(cost_usd::DOUBLE) AS cost_per_call_usd,
          stddev_samp(cost_usd::DOUBLE) AS cost_sd,
          count(cost_usd) AS priced_calls,
          count(*) FILTER (WHERE {m.OK}) AS ok_calls,
          min(start_time) AS first_call,
          max(start_time) AS last_call,
          avg(coalesce(streaming, false)::INTEGER) AS streamed_share,
          avg(input_tokens) AS mean_input_tokens
        FROM calls WHERE {scope.where}
        GROUP BY ALL
        """,
            scope.args,
        )
        .with_columns(
            pl.col("workflow").fill_null(NO_WORKFLOW),
            pl.col("model").fill_null(NO_MODEL),
            pl.col("duration_q").list.get(0).alias("p50_ms"),
            pl.col("duration_q").list.get(1).alias("p95_ms"),
        )
        .drop("duration_q")
    )
    return widen(long)


def widen(long: pl.DataFrame) -> pl.DataFrame:
    """One row per (workflow, model), largest first, from one per (workflow, model, arm) with stat columns."""
    values = [c for c in long.columns if c not in ("workflow", "model", "arm")]
    wide = long.pivot(on="arm", index=["workflow", "model"], values=values)
    for arm in ("a", "b"):  # keep both arms' columns even when one side has no calls at all
        for value in values:
            if f"{value}_{arm}" not in wide.columns:
                wide = wide.with_columns(pl.lit(None, long.schema[value]).alias(f"{value}_{arm}"))
    total = pl.col("calls_a").fill_null(0) + pl.col("calls_b").fill_null(0)
    return wide.sort(total, "workflow", "model", descending=[True, False, False])


def _samples(
    con: duckdb.DuckDBPyConnection, scope: Scope, arms: Arms, paired: pl.DataFrame, cap: int
) -> pl.DataFrame:
    """About `cap` successful calls per (group, arm) of the paired groups, picked by a hash of start_time."""
    wanted = paired.select("workflow", "model", "ok_calls_a", "ok_calls_b").unpivot(
        index=["workflow", "model"], variable_name="arm", value_name="n"
    )
    return fetch(
        con,
        f"""
        WITH wanted AS (
          SELECT unnest($workflows) AS workflow, unnest($models) AS model, unnest($arms) AS arm,
            unnest($fractions) AS fraction
        )
        SELECT t.workflow, t.model, t.arm, t.duration_ms, t.ttft_ms
        FROM (
          SELECT {_GROUP}, {arms.sql()} AS arm, start_time, duration_ms, ttft_ms
          FROM calls WHERE {scope.where} AND {m.OK}
        ) t JOIN wanted w USING (workflow, model, arm)
        WHERE hash(epoch_us(t.start_time)) % 1000003 < 1000003.0 * w.fraction
        """,
        {
            **scope.args,
            "workflows": wanted["workflow"].to_list(),
            "models": wanted["model"].to_list(),
            "arms": [name.removeprefix("ok_calls_") for name in wanted["arm"].to_list()],
            "fractions": [min(1.0, cap / n) if n else 0.0 for n in wanted["n"].to_list()],
        },
    )


def _quantile_replicates(
    values: np.ndarray, q: float, rng: np.random.Generator, resamples: int
) -> np.ndarray:
    """Bootstrap replicates of the q-quantile (the k-th of n uniform draws is Beta(k, n + 1 - k))."""
    n = values.size
    if n == 0:
        return np.full(resamples, np.nan)
    ordered = np.sort(values)
    k = min(n, max(1, math.floor(q * (n - 1)) + 1))
    positions = np.ceil(n * rng.beta(k, n + 1 - k, size=resamples)).astype(int)
    return ordered[np.clip(positions, 1, n) - 1]


def _mean_replicates(
    mean: float | None, sd: float | None, n: int, rng: np.random.Generator, resamples: int
) -> np.ndarray:
    if mean is None or n < 2:
        return np.full(resamples, np.nan)
    return mean + (sd or 0.0) / math.sqrt(n) * rng.standard_normal(resamples)


def _interval(replicates: np.ndarray) -> tuple[float | None, float | None]:
    finite = replicates[np.isfinite(replicates)]
    if finite.size < 0.9 * replicates.size:
        return None, None
    low, high = np.quantile(finite, [0.025, 0.975])
    return float(low), float(high)


def _compare_group(
    group: dict, replicates: QuantileReplicates, arms: Arms, rng: np.random.Generator, resamples: int
) -> dict:
    """Differences, bootstrap intervals and a verdict in plain words for one (workflow, model)."""

    def quantile_interval(name: str, q: float) -> tuple[float | None, float | None]:
        a = replicates(group, "a", name, q, rng)
        b = replicates(group, "b", name, q, rng)
        return _interval(b - a)

    def diff(name: str) -> float | None:
        a, b = group[f"{name}_a"], group[f"{name}_b"]
        return None if a is None or b is None else b - a

    calls_a, calls_b = int(group["calls_a"]), int(group["calls_b"])
    row = {
        "group": f"{group['workflow']} · {group['model']}",
        "workflow": group["workflow"],
        "model": group["model"],
        "calls_a": calls_a,
        "calls_b": calls_b,
        "error_rate_a": group["error_rate_a"],
        "error_rate_b": group["error_rate_b"],
        "p50_a_ms": group["p50_ms_a"],
        "p50_b_ms": group["p50_ms_b"],
        "p50_diff_ms": diff("p50_ms"),
        "p95_diff_ms": diff("p95_ms"),
        "ttft_p50_diff_ms": diff("ttft_p50_ms"),
        "cost_per_call_a_usd": group["cost_per_call_usd_a"],
        "cost_per_call_b_usd": group["cost_per_call_usd_b"],
    }
    cost_a, cost_b = group["cost_per_call_usd_a"], group["cost_per_call_usd_b"]
    row["cost_change"] = cost_b / cost_a - 1 if cost_a and cost_b is not None else None
    row["p50_diff_lo"], row["p50_diff_hi"] = quantile_interval("duration_ms", 0.5)
    row["p95_diff_lo"], row["p95_diff_hi"] = quantile_interval("duration_ms", 0.95)
    row["ttft_p50_diff_lo"], row["ttft_p50_diff_hi"] = quantile_interval("ttft_ms", 0.5)
    cost_reps = [
        _mean_replicates(
            group[f"cost_per_call_usd_{arm}"],
            group[f"cost_sd_{arm}"],
            group[f"priced_calls_{arm}"] or 0,
            rng,
            resamples,
        )
        for arm in ("a", "b")
    ]
    with np.errstate(divide="ignore", invalid="ignore"):
        row["cost_change_lo"], row["cost_change_hi"] = _interval(cost_reps[1] / cost_reps[0] - 1)
    error_reps = [
        rng.binomial(n, group[f"error_rate_{arm}"] or 0.0, resamples) / n
        for arm, n in (("a", calls_a), ("b", calls_b))
    ]
    row["error_diff_lo"], row["error_diff_hi"] = _interval(error_reps[1] - error_reps[0])
    row["conclusive"] = min(calls_a, calls_b) >= MIN_CALLS_PER_ARM
    row["not_like_for_like"] = "; ".join(_caveats(group, arms)) or None
    row["recommendation"], row["why"] = _recommend(row)
    row["verdict"] = _verdict(row, arms)
    return row


def _caveats(group: dict, arms: Arms) -> list[str]:
    """Why the two arms of a group do not measure the same thing: periods, traffic mix, incidents."""
    caveats = []
    first_a, last_a, first_b, last_b = (
        group["first_call_a"],
        group["last_call_a"],
        group["first_call_b"],
        group["last_call_b"],
    )
    if None not in (first_a, last_a, first_b, last_b):
        overlap = (min(last_a, last_b) - max(first_a, first_b)).total_seconds()
        span = max((last_a - first_a).total_seconds(), (last_b - first_b).total_seconds(), 1.0)
        if overlap < PERIOD_OVERLAP * span:
            caveats.append(
                f"different periods ({arms.a} {first_a:%a %d %b} to {last_a:%a %d %b}, "
                f"{arms.b} {first_b:%a %d %b} to {last_b:%a %d %b})"
            )
    streamed_a, streamed_b = group["streamed_share_a"], group["streamed_share_b"]
    if streamed_a is not None and streamed_b is not None and abs(streamed_a - streamed_b) > MIX_SHARE:
        caveats.append(f"a different traffic mix (streamed {streamed_a:.0%} vs {streamed_b:.0%})")
    tokens_a, tokens_b = group["mean_input_tokens_a"], group["mean_input_tokens_b"]
    if tokens_a and tokens_b and not 1 / MIX_TOKENS <= tokens_b / tokens_a <= MIX_TOKENS:
        caveats.append(f"a different traffic mix (mean input {tokens_a:,.0f} vs {tokens_b:,.0f} tokens)")
    incidents = {arm: int(group.get(f"incident_calls_{arm}") or 0) for arm in ("a", "b")}
    for arm, other in (("a", "b"), ("b", "a")):
        if incidents[arm] and not incidents[other]:
            name = arms.a if arm == "a" else arms.b
            caveats.append(f"an incident on {name} only ({incidents[arm]:,} calls in outage windows)")
    return caveats


def _clear(low: float | None, high: float | None) -> bool:
    return low is not None and high is not None and (low > 0 or high < 0)


def _recommend(row: dict) -> tuple[str, str]:
    """keep, revert or wait, and why in a few words (B is the arm moved to; A the one left)."""
    if not row["conclusive"]:
        return "wait", f"fewer than {MIN_CALLS_PER_ARM} calls on one side"
    worse = []
    if row["error_diff_lo"] is not None and row["error_diff_lo"] > ERROR_TOLERANCE:
        worse.append(f"errors {_pct(row['error_rate_a'])} to {_pct(row['error_rate_b'])}")
    if row["cost_change_lo"] is not None and row["cost_change_lo"] > COST_TOLERANCE:
        worse.append(f"cost per call {row['cost_change']:+.1%}")
    tolerance = max(LATENCY_TOLERANCE_MS, LATENCY_TOLERANCE_SHARE * (row["p50_a_ms"] or 0.0))
    if row["p50_diff_lo"] is not None and row["p50_diff_lo"] > tolerance:
        worse.append(f"p50 {row['p50_diff_ms']:+,.0f} ms")
    if worse:
        return "revert", "worse on " + ", ".join(worse)
    better = []
    if row["error_diff_hi"] is not None and row["error_diff_hi"] < 0:
        better.append(f"errors {_pct(row['error_rate_a'])} to {_pct(row['error_rate_b'])}")
    if row["cost_change_hi"] is not None and row["cost_change_hi"] < 0:
        better.append(f"cost per call {row['cost_change']:+.1%}")
    if row["p50_diff_hi"] is not None and row["p50_diff_hi"] < 0:
        better.append(f"p50 {row['p50_diff_ms']:+,.0f} ms")
    if better:
        return "keep", "better on " + ", ".join(better) + ", and no clear harm"
    return "keep", "no clear harm within the tolerances"


def _verdict(row: dict, arms: Arms) -> str:
    """The comparison in plain words, or why it cannot be concluded yet and how many calls would do."""
    caveat = f"Not like for like: {row['not_like_for_like']}. " if row["not_like_for_like"] else ""
    return caveat + _findings_in_words(row, arms)


def _findings_in_words(row: dict, arms: Arms) -> str:
    if not row["conclusive"]:
        short = [
            f"{arm} needs {MIN_CALLS_PER_ARM - n} more"
            for arm, n in ((arms.a, row["calls_a"]), (arms.b, row["calls_b"]))
            if n < MIN_CALLS_PER_ARM
        ]
        return (
            f"too few calls to conclude ({row['calls_a']} on {arms.a}, {row['calls_b']} on {arms.b}; "
            f"at least {MIN_CALLS_PER_ARM} per arm): {', '.join(short)}."
        )
    parts = [_latency_words(row, "p50", arms), _latency_words(row, "p95", arms)]
    if row["ttft_p50_diff_ms"] is not None:
        parts.append(
            f"TTFT {row['ttft_p50_diff_ms']:+,.0f} ms "
            + _ci(row["ttft_p50_diff_lo"], row["ttft_p50_diff_hi"], _num)
        )
    if row["cost_change"] is not None:
        parts.append(
            f"cost {row['cost_change']:+.1%} {_ci(row['cost_change_lo'], row['cost_change_hi'], _change)}"
        )
    parts.append(f"errors {_pct(row['error_rate_a'])} on {arms.a} vs {_pct(row['error_rate_b'])} on {arms.b}")
    text = "; ".join(parts)
    needed = _more_calls_needed(row)
    if needed:
        target = max(abs(row["p50_diff_ms"]), 0.01 * (row["p50_a_ms"] or 0))
        text += (
            f". To tell a p50 difference of {target:,.0f} ms from zero, about {needed:,} more calls per arm"
        )
        text += " are needed"
    return text + "."


def _latency_words(row: dict, stat: str, arms: Arms) -> str:
    diff, low, high = row[f"{stat}_diff_ms"], row[f"{stat}_diff_lo"], row[f"{stat}_diff_hi"]
    if diff is None:
        return f"{stat} unknown"
    clear = low is not None and high is not None and (low > 0 or high < 0)
    if not clear:
        return f"no clear {stat} difference ({diff:+,.0f} ms {_ci(low, high, _num)})"
    verb = "adds" if diff > 0 else "saves"
    return f"{arms.b} {verb} {abs(diff):,.0f} ms {stat} {_ci(low, high, _num)}"


def _more_calls_needed(row: dict) -> int:
    """Power-style estimate: calls per arm for the p50 interval to exclude zero at 80% power.

    The target difference is the observed one, at least 1% of A's p50; the standard error
    shrinks as 1/sqrt(n), so n_needed = n * ((z95 + z80) * se / target)^2.
    """
    low, high, diff = row["p50_diff_lo"], row["p50_diff_hi"], row["p50_diff_ms"]
    if low is None or high is None or diff is None or low > 0 or high < 0:
        return 0
    standard_error = (high - low) / (2 * Z_95)
    target = max(abs(diff), 0.01 * (row["p50_a_ms"] or 0.0))
    if target <= 0 or standard_error <= 0:
        return 0
    n = min(row["calls_a"], row["calls_b"])
    needed = n * ((Z_95 + Z_POWER_80) * standard_error / target) ** 2
    return max(0, math.ceil(needed - n))


def _num(value: float | None) -> str:
    return "?" if value is None else f"{value:+,.0f}"


def _pct(value: float | None) -> str:
    return "?" if value is None else f"{value:.1%}"


def _change(value: float | None) -> str:
    return "?" if value is None else f"{value:+.1%}"


def _ci(low: float | None, high: float | None, fmt: Callable[[float | None], str]) -> str:
    return f"[{fmt(low)}, {fmt(high)}]"
