"""Tiers: a model policy checked against actual use, and what moving to the cheapest allowed model saves.

The policy is a TOML file:

    [tiers.economy]
    models = ["openai/gpt-4o-mini", "google/gemini-*-flash*"]   # glob patterns over canonical models
    max_input_per_1m = 0.5                                      # optional price ceilings, USD per 1M tokens
    max_output_per_1m = 3.0

    [workflows]
    support-triage = "economy"       # workflows not listed use their own `tier` tag, when it names a tier

Savings re-price each workflow's actual token usage (priced calls only) at the base-tier list price of
every model its tier allows and that it could use (a model seen in scope for the same operation), and
keep the cheapest (`modelmeter.pricing.list_rates` says why usage is re-priced at base-tier rates).
"""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from modelmeter.pricing import CallUsage, Rates, list_rates
from modelmeter.reports.model import Headline, Report, Table
from modelmeter.reports.params import ReportParams, scope_of
from modelmeter.reports.source import fetch, home_dir, resolve_window


@dataclass(frozen=True, slots=True)
class Tier:
    name: str
    models: tuple[str, ...] = ()  # glob patterns; empty: any model
    max_input_per_1m: float | None = None
    max_output_per_1m: float | None = None

    def check(self, model: str, prices: Rates | None) -> tuple[str, str]:
        """(status, reason): ok, violation, or unknown (a ceiling cannot be checked without a price)."""
        if self.models and not any(fnmatch.fnmatchcase(model, pattern) for pattern in self.models):
            return "violation", f"{model} is not in tier {self.name}'s models"
        ceilings = [
            (self.max_input_per_1m, "input", "per_input"),
            (self.max_output_per_1m, "output", "per_output"),
        ]
        for ceiling, label, attribute in ceilings:
            if ceiling is None:
                continue
            if prices is None:
                return (
                    "unknown",
                    f"{model} has no price: tier {self.name}'s {label} ceiling cannot be checked",
                )
            price = float(getattr(prices, attribute) * 1_000_000)
            if price > ceiling:
                return "violation", f"{label} {price:g} USD/1M above tier {self.name}'s ceiling {ceiling:g}"
        return "ok", ""


@dataclass(frozen=True, slots=True)
class Policy:
    tiers: dict[str, Tier]
    workflows: dict[str, str]  # workflow -> tier name

    def tier_for(self, workflow: str | None, tagged_tier: str | None) -> Tier | None:
        name = self.workflows.get(workflow or "") or tagged_tier
        return self.tiers.get(name or "")


def default_policy_path() -> Path:
    return home_dir() / "tiers.toml"


def policy_path(params: ReportParams) -> Path:
    """--policy, else tiers.toml in MODELMETER_HOME; ValueError when that file does not exist."""
    path = params.policy or default_policy_path()
    if not path.exists():
        raise ValueError(f"no tier policy at {path}: pass --policy FILE (see `modelmeter report --help`)")
    return path


def load_policy(path: Path) -> Policy:
    """Parse a tier policy; raises ValueError with the file name on a malformed policy."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"cannot read tier policy {path}: {exc}") from exc
    tiers = {}
    for name, spec in data.get("tiers", {}).items():
        if not isinstance(spec, dict):
            raise ValueError(f"{path}: [tiers.{name}] must be a table")
        tiers[name] = Tier(
            name,
            tuple(spec.get("models", ())),
            spec.get("max_input_per_1m"),
            spec.get("max_output_per_1m"),
        )
    workflows = {str(k): str(v) for k, v in data.get("workflows", {}).items()}
    unknown = sorted(set(workflows.values()) - set(tiers))
    if unknown:
        raise ValueError(f"{path}: workflows refer to undefined tiers: {', '.join(unknown)}")
    return Policy(tiers, workflows)


def build(con: duckdb.DuckDBPyConnection, params: ReportParams) -> Report:
    params = resolve_window(con, params)
    path = policy_path(params)
    policy = load_policy(path)
    scope = scope_of(params)
    usage = fetch(
        con,
        f"""
        SELECT workflow, tier, model, operation,
          count(*) AS calls,
          count(cost_usd) AS priced_calls,
          sum(cost_usd::DOUBLE) AS spend_usd,
          (sum(input_tokens) FILTER (WHERE cost_usd IS NOT NULL))::DOUBLE AS input_tokens,
          (sum(output_tokens) FILTER (WHERE cost_usd IS NOT NULL))::DOUBLE AS output_tokens,
          (sum(coalesce(cache_read_tokens, 0)) FILTER (WHERE cost_usd IS NOT NULL))::DOUBLE
            AS cache_read_tokens,
          (sum(coalesce(cache_write_tokens, 0)) FILTER (WHERE cost_usd IS NOT NULL))::DOUBLE
            AS cache_write_tokens
        FROM calls WHERE {scope.where} AND model IS NOT NULL
        GROUP BY ALL
        """,
        scope.args,
    )
    return check(usage, policy, path, params)


def check(usage: pl.DataFrame, policy: Policy, path: Path, params: ReportParams) -> Report:
    """Check actual use against `policy` and price the moves to the cheapest allowed models.

    `usage` has one row per workflow, tier, model and operation (calls with a model only): calls,
    priced_calls, spend_usd, and the input, output and cache tokens of the priced calls.
    """
    usage = usage.sort(
        ["calls", "workflow", "model", "operation"], descending=[True, False, False, False], nulls_last=True
    )
    at = params.until or datetime.now(UTC)
    models_by_operation: dict[str | None, set[str]] = {}
    for row in usage.select("operation", "model").unique().iter_rows():
        models_by_operation.setdefault(row[0], set()).add(row[1])
    checked = [_check_row(row, policy, models_by_operation, at) for row in usage.iter_rows(named=True)]
    table = pl.DataFrame(checked, infer_schema_length=None) if checked else pl.DataFrame()
    report = Report(
        kind="tiers",
        title=f"Tiers: policy {path.name} checked against actual use",
        period=(params.since, params.until),
        filters=dict(params.filters),
        based_on=int(usage["calls"].sum() or 0),
    )
    violations = table.filter(pl.col("status") == "violation") if checked else table
    savings = (
        table.filter(pl.col("tier_applied").is_not_null())
        .group_by("workflow", "tier_applied")
        .agg(
            pl.col("calls", "priced_calls", "spend_usd", "cheapest_cost_usd").sum(),
            pl.col("cheapest_model").drop_nulls().first(),
        )
        .with_columns(  # unpriced, not zero, when none of the workflow's calls had a price
            pl.when(pl.col("priced_calls") > 0).then(pl.col(name)).alias(name)
            for name in ("spend_usd", "cheapest_cost_usd")
        )
        .with_columns((pl.col("spend_usd") - pl.col("cheapest_cost_usd")).round(10).alias("saving_usd"))
        .with_columns(
            pl.when(pl.col("saving_usd") < 0)
            .then(pl.lit("its tier allows no model as cheap as the one it uses: the policy costs more"))
            .when(pl.col("saving_usd") == 0)
            .then(pl.lit("already on the cheapest allowed model"))
            .when(pl.col("saving_usd").is_null())
            .then(pl.lit("unpriced: no priced calls to re-price"))
            .otherwise(pl.lit("moving to the cheapest allowed model"))
            .alias("why")
        )
        .sort("saving_usd", descending=True, nulls_last=True)
        if checked
        else table
    )
    untiered = table.filter(pl.col("tier_applied").is_null()) if checked else table
    gains = savings.filter(pl.col("saving_usd") > 0) if checked else savings
    losses = savings.filter(pl.col("saving_usd") < 0) if checked else savings
    report.headlines += [
        Headline(
            "violating_calls",
            "Calls breaking the policy",
            int(violations["calls"].sum() or 0) if checked else 0,
            "calls",
            "Calls whose model is outside its workflow's tier (patterns or price ceilings).",
            report.based_on,
        ),
        Headline(
            "violating_workflows",
            "Workflows breaking the policy",
            violations["workflow"].n_unique() if checked else 0,
            "count",
            "Distinct workflows with at least one call outside their tier.",
            int(violations["calls"].sum() or 0) if checked else 0,
        ),
        Headline(
            "estimated_saving_usd",
            "Estimated saving at the cheapest allowed model",
            float(gains["saving_usd"].sum() or 0.0) if checked else 0.0,
            "usd",
            "Sum over tiered workflows that would save of (estimated spend - the same priced token "
            "usage re-priced at the cheapest model its tier allows, among models seen for the same "
            "operation). Workflows whose tier allows only dearer models are counted apart, as the "
            "cost of following the policy.",
            int(gains["priced_calls"].sum() or 0) if checked else 0,
        ),
        Headline(
            "policy_extra_cost_usd",
            "Extra cost of following the policy",
            float(-losses["saving_usd"].sum() or 0.0) if checked else 0.0,
            "usd",
            "Sum over tiered workflows whose tier allows no model as cheap as the one they use of "
            "(the usage re-priced at the cheapest allowed model - estimated spend).",
            int(losses["priced_calls"].sum() or 0) if checked else 0,
        ),
        Headline(
            "untiered_calls",
            "Calls with no tier",
            int(untiered["calls"].sum() or 0) if checked else 0,
            "calls",
            "Calls whose workflow the policy does not list and whose tier tag names no policy tier.",
            report.based_on,
        ),
    ]
    report.tables += [
        Table("policy_check", "Use by workflow and model against the policy", table),
        Table("violations", "Violations", violations),
        Table("savings", "Estimated saving per workflow at the cheapest allowed model", savings),
    ]
    report.notes.append(
        f"Based on {report.based_on:,} calls. Re-priced at base-tier list prices of {at:%Y-%m-%d}; "
        "cached-token discounts are kept, per-request tier surcharges are not modelled."
    )
    return report


def _check_row(
    row: dict, policy: Policy, models_by_operation: dict[str | None, set[str]], at: datetime
) -> dict:
    tier = policy.tier_for(row["workflow"], row["tier"])
    prices = list_rates(row["model"], at)
    status, reason = tier.check(row["model"], prices) if tier else ("no tier", "")
    cheapest_model, cheapest_cost = None, None
    if tier is not None and row["priced_calls"]:
        for candidate in sorted(models_by_operation.get(row["operation"], set())):
            candidate_prices = list_rates(candidate, at)
            if candidate_prices is None or tier.check(candidate, candidate_prices)[0] != "ok":
                continue
            usage = CallUsage(
                int(row["input_tokens"] or 0),
                int(row["output_tokens"] or 0),
                int(row["cache_read_tokens"] or 0),
                int(row["cache_write_tokens"] or 0),
            )
            cost = float(candidate_prices.cost(usage, requests=row["priced_calls"]))
            if cheapest_cost is None or cost < cheapest_cost:
                cheapest_model, cheapest_cost = candidate, cost
    return {
        "workflow": row["workflow"],
        "tier_applied": tier.name if tier else None,
        "model": row["model"],
        "operation": row["operation"],
        "calls": row["calls"],
        "priced_calls": row["priced_calls"],
        "spend_usd": row["spend_usd"],
        "status": status,
        "reason": reason,
        "cheapest_model": cheapest_model,
        "cheapest_cost_usd": cheapest_cost if cheapest_cost is not None else row["spend_usd"],
    }
