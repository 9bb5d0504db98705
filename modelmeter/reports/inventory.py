"""Inventory: who calls what, with which keys, over which route — step one of a gateway migration.

Answers: which workflows call which providers and models with which keys; which provider keys are
still used directly (bypassing a gateway); which workflow to migrate first, and why; how much of
the data is incomplete (no usage, no price, cut streams).
"""

from __future__ import annotations

import duckdb
import polars as pl

from modelmeter.reports import codebase
from modelmeter.reports import measures as m
from modelmeter.reports.model import Headline, Report, Table
from modelmeter.reports.params import ReportParams, scope_of
from modelmeter.reports.source import fetch, resolve_window

# Tier names that usually mean "a cheap model is fine here": such workflows are safe first movers.
LOW_STAKES_TIERS = {"economy", "low", "basic", "bronze", "free", "batch", "internal", "cheap"}
MID_STAKES_TIERS = {"standard", "medium", "silver", "default"}

_KEY_COLUMNS = [
    "workflow",
    "team",
    "tier",
    "provider",
    "model",
    "key_fingerprint",
    "auth_kind",
    "route",
    "gateway",
]
# a distinct-count measure needs its column among the grouping keys
_COLUMN_OF_COUNT = {
    "workflows": "workflow",
    "providers": "provider",
    "models": "model",
    "keys": "key_fingerprint",
}

_MEASURES = [
    m.CALLS,
    m.Measure(
        "workflows", "Workflows", "count(DISTINCT workflow)", "count", "Distinct non-null workflow tags."
    ),
    m.Measure(
        "providers", "Providers", "count(DISTINCT provider)", "count", "Distinct model vendors (provider)."
    ),
    m.Measure("models", "Models", "count(DISTINCT model)", "count", "Distinct canonical models (model)."),
    m.Measure(
        "keys", "Credentials", "count(DISTINCT key_fingerprint)", "count", "Distinct key fingerprints seen."
    ),
    m.Measure(
        "direct_keys",
        "Provider keys used directly",
        "count(DISTINCT key_fingerprint) FILTER (WHERE route = 'direct')",
        "count",
        "Distinct key fingerprints on calls with route direct (calls that bypass any gateway).",
        "count(*) FILTER (WHERE route = 'direct')",
    ),
    m.Measure(
        "direct_share",
        "Share of calls direct",
        "avg((route = 'direct')::INTEGER)",
        "ratio",
        "Calls with route direct / calls with a known route.",
        "count(route)",
    ),
    m.SPEND,
    m.Measure(
        "unattributed_calls",
        "Calls without a workflow",
        "count(*) FILTER (WHERE workflow IS NULL)",
        "calls",
        "Calls with no workflow tag: tag them with modelmeter.tag(workflow=...) or MODELMETER_WORKFLOW.",
    ),
    m.NO_USAGE_CALLS,
    m.UNPRICED_CALLS,
    m.TRUNCATED_CALLS,
]


def build(con: duckdb.DuckDBPyConnection, params: ReportParams) -> Report:
    params = resolve_window(con, params)
    rows = grouped_rows(con, params)
    report = summarise(rows, params)
    report.tables += _detail_tables(rows)
    if codebase.has_scan(con):
        report.tables += codebase.tables(con, scope_of(params))
        report.notes.append(
            "Static tables join the latest `modelmeter scan --db` of each scanned root to these calls."
        )
    else:
        report.notes.append(
            "Run `modelmeter scan PATH --db FILE` to see where the code holds each key and which "
            "deployable units still call providers directly."
        )
    return report


def grouped_rows(con: duckdb.DuckDBPyConnection, params: ReportParams) -> pl.DataFrame:
    """Calls in scope grouped by workflow, team, tier, provider, model, key, route and gateway (`params`
    with its window resolved), with the inventory's counts and the SDKs listed."""
    scope = scope_of(params)
    by_sdk = fetch(
        con,
        f"""
        SELECT {", ".join(_KEY_COLUMNS)}, sdk, sdk_version,
          count(*) AS calls,
          count(*) FILTER (WHERE {m.ERROR}) AS errors,
          sum(cost_usd::DOUBLE) AS spend_usd,
          count(cost_usd) AS priced_calls,
          count(*) FILTER (WHERE usage_known AND cost_usd IS NULL) AS unpriced_calls,
          count(*) FILTER (WHERE {m.OK} AND NOT coalesce(usage_known, false)) AS calls_without_usage,
          count(*) FILTER (WHERE coalesce(truncated, false)) AS truncated_streams,
          min(start_time) AS first_seen,
          max(start_time) AS last_seen
        FROM calls WHERE {scope.where}
        GROUP BY ALL
        """,
        scope.args,
    )
    return _merge_sdks(by_sdk)


def summarise(rows: pl.DataFrame, params: ReportParams) -> Report:
    """Headlines, the workflow ranking, the migration candidate and the direct keys from grouped rows.

    `rows` groups calls by (at least) workflow, tier, provider, route, key_fingerprint and auth_kind,
    with the counts of the inventory query.
    """
    heads = _headlines(rows)
    workflows = workflow_ranking(rows)
    candidate = _migration_candidate(workflows)
    report = Report(
        kind="inventory",
        title="Inventory: workflows, providers, models, keys and routes",
        period=(params.since, params.until),
        filters=dict(params.filters),
        based_on=int(heads[0].value or 0),
        headlines=heads,
    )
    if candidate is not None:
        name, reason, calls = candidate
        report.headlines.append(
            Headline(
                "migration_candidate",
                "First migration candidate",
                name,
                "text",
                "Workflow with direct calls scoring highest on volume share, low-stakes tier "
                "and single provider. " + reason,
                calls,
            )
        )
        report.summary = f"Migrate {name} first: {reason}"
    report.tables += [
        Table("workflows", "Workflows ranked by volume and by cost", workflows),
        Table(
            "direct_keys",
            "Provider keys still used directly (bypassing a gateway)",
            _direct_keys(rows),
            "Each is a credential to rotate into the gateway once its workflows have moved.",
        ),
    ]
    report.notes.append(
        f"Based on {report.based_on:,} calls. Spend counts priced calls only; "
        f"{report.headline('unpriced_calls').value:,} calls with usage had no price and "
        f"{report.headline('calls_without_usage').value:,} successful calls had no usage."
    )
    return report


def _spend() -> pl.Expr:
    """A group's summed spend: unpriced (null), not zero, when none of its calls had a price."""
    return pl.when(pl.col("priced_calls").sum() > 0).then(pl.col("spend_usd").sum()).alias("spend_usd")


def _merge_sdks(by_sdk: pl.DataFrame) -> pl.DataFrame:
    """One row per inventory key with its SDKs listed (SDK and version are grouped in SQL, joined here)."""
    return (
        by_sdk.with_columns(
            (pl.col("sdk") + pl.lit(" ") + pl.col("sdk_version").fill_null("")).str.strip_chars()
        )
        .group_by(_KEY_COLUMNS)
        .agg(
            pl.exclude(*_KEY_COLUMNS, "sdk", "sdk_version", "spend_usd", "first_seen", "last_seen").sum(),
            _spend(),
            pl.col("first_seen").min(),
            pl.col("last_seen").max(),
            pl.col("sdk").drop_nulls().unique().sort().str.join(", ").alias("sdks"),
        )
        .sort("calls", descending=True)
    )


def _detail_tables(rows: pl.DataFrame) -> list[Table]:
    return [
        Table(
            "inventory",
            "Workflows x providers x models x keys x route",
            rows.select(*_KEY_COLUMNS, "calls", "spend_usd", "first_seen", "last_seen", "sdks"),
            "One row per workflow, team, tier, provider, model, key fingerprint, auth kind, route "
            "and gateway.",
        ),
        Table(
            "unpriced_models",
            "Models with usage but no price",
            rows.filter(pl.col("unpriced_calls") > 0)
            .group_by("model")
            .agg(pl.col("unpriced_calls").sum())
            .sort("unpriced_calls", descending=True),
            "Add them to a price override file so their spend is not missing from cost reports.",
        ),
    ]


def _headlines(rows: pl.DataFrame) -> list[Headline]:
    """The headline measures, evaluated over the grouped rows (one query serves headlines and tables)."""
    calls = int(rows["calls"].sum())
    direct = rows.filter(pl.col("route") == "direct")
    routed = int(rows.filter(pl.col("route").is_not_null())["calls"].sum())
    priced = int(rows["priced_calls"].sum())

    def distinct(frame: pl.DataFrame, column: str) -> int:
        return frame[column].drop_nulls().n_unique()

    values: dict[str, tuple[float | int | None, int]] = {
        "calls": (calls, calls),
        **{
            key: (distinct(rows, column), calls)
            for key, column in _COLUMN_OF_COUNT.items()
            if column in rows.columns
        },
        "direct_keys": (distinct(direct, "key_fingerprint"), int(direct["calls"].sum())),
        "direct_share": (int(direct["calls"].sum()) / routed if routed else None, routed),
        "spend_usd": (float(rows["spend_usd"].sum()) if priced else None, priced),
        "unattributed_calls": (int(rows.filter(pl.col("workflow").is_null())["calls"].sum()), calls),
        "calls_without_usage": (int(rows["calls_without_usage"].sum()), calls),
        "unpriced_calls": (int(rows["unpriced_calls"].sum()), calls),
        "truncated_streams": (int(rows["truncated_streams"].sum()), calls),
    }
    return [m.headline(measure, *values[measure.key]) for measure in _MEASURES if measure.key in values]


def workflow_ranking(rows: pl.DataFrame) -> pl.DataFrame:
    """Per workflow: volume, cost, ranks, how many providers, how much still goes direct."""
    return (
        rows.filter(pl.col("workflow").is_not_null())
        .group_by("workflow")
        .agg(
            *([pl.col("team").drop_nulls().mode().first().alias("team")] if "team" in rows.columns else []),
            pl.col("tier").drop_nulls().mode().first().alias("tier"),
            pl.col("calls").sum(),
            _spend(),
            pl.col("unpriced_calls").sum(),
            pl.col("errors").sum(),
            pl.col("provider").drop_nulls().n_unique().alias("providers"),
            pl.col("provider").drop_nulls().unique().sort().str.join(", ").alias("provider_names"),
            pl.col("calls").filter(pl.col("route") == "direct").sum().alias("direct_calls"),
        )
        .with_columns(
            (pl.col("errors") / pl.col("calls")).alias("error_rate"),
            (pl.col("direct_calls") / pl.col("calls")).alias("direct_share"),
            pl.col("calls").rank("ordinal", descending=True).alias("rank_by_volume"),
            pl.col("spend_usd").fill_null(0).rank("ordinal", descending=True).alias("rank_by_cost"),
        )
        .drop("errors")
        .sort("rank_by_volume")
    )


def migration_order(workflows: pl.DataFrame) -> pl.DataFrame:
    """Workflows with direct calls, the best first mover first: much traffic, low stakes, one provider.

    `workflows` is `workflow_ranking`'s frame; the result adds `score` and `migration_rank`.
    """
    movable = workflows.filter(pl.col("direct_calls") > 0)
    total = float(workflows["calls"].sum() or 1)
    return (
        movable.with_columns(
            (
                2 * pl.col("calls") / total
                + pl.when(pl.col("tier").str.to_lowercase().is_in(sorted(LOW_STAKES_TIERS)))
                .then(1.0)
                .when(pl.col("tier").str.to_lowercase().is_in(sorted(MID_STAKES_TIERS)))
                .then(0.5)
                .otherwise(0.0)
                + pl.when(pl.col("providers") == 1).then(0.5).otherwise(0.0)
            ).alias("score")
        )
        .sort(["score", "calls", "workflow"], descending=[True, True, False])
        .with_row_index("migration_rank", offset=1)
    )


def _migration_candidate(workflows: pl.DataFrame) -> tuple[str, str, int] | None:
    """The workflow to move first (the head of `migration_order`), with why.

    Returns (name, why, calls), or None when no workflow calls providers directly.
    """
    ordered = migration_order(workflows)
    if ordered.is_empty():
        return None
    total = float(workflows["calls"].sum())
    best = ordered.row(0, named=True)
    reasons = [f"{best['calls'] / total:.0%} of calls (rank {best['rank_by_volume']} by volume)"]
    if best["tier"]:
        stakes = "low-stakes " if str(best["tier"]).lower() in LOW_STAKES_TIERS else ""
        reasons.append(f"{stakes}tier {best['tier']}")
    if best["providers"] == 1:
        reasons.append(f"a single provider ({best['provider_names']})")
    else:
        reasons.append(f"{best['providers']} providers ({best['provider_names']})")
    reasons.append(f"{best['direct_share']:.0%} of its calls still direct")
    return str(best["workflow"]), "; ".join(reasons) + ".", int(best["calls"])


def _direct_keys(rows: pl.DataFrame) -> pl.DataFrame:
    return (
        rows.filter((pl.col("route") == "direct") & pl.col("key_fingerprint").is_not_null())
        .group_by("key_fingerprint", "auth_kind", "provider")
        .agg(
            pl.col("calls").sum(),
            _spend(),
            pl.col("unpriced_calls").sum(),
            pl.col("workflow").drop_nulls().unique().sort().str.join(", ").alias("workflows"),
            pl.col("last_seen").max(),
        )
        .sort("calls", descending=True)
    )
