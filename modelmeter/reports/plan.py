"""Plan: what moving each workflow's direct calls to the Vercel AI Gateway means, in migration order.

Per workflow (the inventory's order: much traffic, low stakes, one provider first) and per way it
calls a provider directly today (provider, model, SDK, base URL, key kind): the gateway model id in
`provider/model` form, the base URL and credential to switch to, a fallback model from another
provider in the same tier (from the tier policy when there is one), and the cost of the change at
list prices, re-pricing the usage the workflow actually had at base-tier rates
(`modelmeter.pricing.list_rates` says why).

The gateway bills provider list prices without a markup, so the same model costs the same there;
what changes cost is a different model id or the fallback. Usage the provider did not report is
unknown, never zero: those calls are counted, not priced.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import duckdb
import polars as pl

from modelmeter.pricing import CallUsage, list_rates
from modelmeter.reports import codebase, inventory
from modelmeter.reports.model import Headline, Report, Table
from modelmeter.reports.params import ReportParams, scope_of
from modelmeter.reports.source import fetch, resolve_window
from modelmeter.reports.tiers import Policy, Tier, default_policy_path, load_policy

GATEWAY = "vercel"
OPENAI_COMPATIBLE_URL = "https://ai-gateway.vercel.sh/v1"
ANTHROPIC_COMPATIBLE_URL = "https://ai-gateway.vercel.sh"
NEW_AUTH = "AI_GATEWAY_API_KEY or VERCEL_OIDC_TOKEN"  # a gateway key (vck_...), or OIDC on Vercel
# Operations that generate text: a fallback for one may serve another
_TEXT_OPERATIONS = frozenset({"chat", "responses", "generate_content", "messages", "text_completion"})
_GATEWAY_OPERATIONS = _TEXT_OPERATIONS | {"embeddings"}
# Most telling first: a narrow terminal shows the leading columns
_PLAN_COLUMNS = [
    "order",
    "workflow",
    "gateway_model",
    "fallback_model",
    "cost_change_usd",
    "list_cost_today_usd",
    "fallback_list_cost_usd",
    "model",
    "tier",
    "calls",
    "calls_with_usage",
]
_CHANGE_COLUMNS = [
    "order",
    "workflow",
    "new_base_url",
    "key_kind",
    "sdk",
    "sdk_change",
    "new_auth",
    "base_url",
    "model",
    "provider",
    "operation",
    "check",
    "in_code",
]
# Moving suffixes that the gateway's ids do not carry (it pins a version itself)
_MOVING_SUFFIX = re.compile(r"-latest$")


def gateway_model_id(model: str) -> str:
    """The Vercel AI Gateway id of a canonical model (`provider/name`, dots in Claude versions)."""
    return _MOVING_SUFFIX.sub("", model)


def build(con: duckdb.DuckDBPyConnection, params: ReportParams) -> Report:
    params = resolve_window(con, params)
    scope = scope_of(params)
    order = inventory.migration_order(inventory.workflow_ranking(inventory.grouped_rows(con, params)))
    direct = fetch(
        con,
        f"""
        SELECT workflow, provider, model, operation, sdk, server_address, auth_kind,
          count(*) AS calls,
          count(*) FILTER (WHERE usage_known) AS calls_with_usage,
          sum(input_tokens) FILTER (WHERE usage_known)::DOUBLE AS input_tokens,
          sum(output_tokens) FILTER (WHERE usage_known)::DOUBLE AS output_tokens,
          sum(coalesce(cache_read_tokens, 0)) FILTER (WHERE usage_known)::DOUBLE AS cache_read_tokens,
          sum(coalesce(cache_write_tokens, 0)) FILTER (WHERE usage_known)::DOUBLE AS cache_write_tokens,
          sum(coalesce(reasoning_tokens, 0)) FILTER (WHERE usage_known)::DOUBLE AS reasoning_tokens
        FROM calls WHERE ({scope.where}) AND route = 'direct' AND workflow IS NOT NULL AND model IS NOT NULL
        GROUP BY ALL
        """,
        scope.args,
    )
    seen = fetch(con, "SELECT DISTINCT model, operation FROM calls WHERE model IS NOT NULL")
    policy, policy_name = _policy(params)
    in_code = codebase.units_of_workflows(con, scope) if codebase.has_scan(con) else {}
    return plan(order, direct, seen, policy, params, in_code, policy_name)


def plan(
    order: pl.DataFrame,
    direct: pl.DataFrame,
    seen: pl.DataFrame,
    policy: Policy | None,
    params: ReportParams,
    in_code: dict[str, str] | None = None,
    policy_name: str | None = None,
) -> Report:
    """The plan from the inventory's `migration_order`, the direct calls grouped by workflow, provider,
    model, operation, SDK, server and key kind (with their usage), and the (model, operation) pairs seen."""
    at = params.until or datetime.now(UTC)
    seen_pairs = [(str(m), o) for m, o in seen.select("model", "operation").iter_rows()]
    ranked = {row["workflow"]: row for row in order.iter_rows(named=True)}
    rows = []
    for row in direct.iter_rows(named=True):
        workflow = ranked.get(row["workflow"])
        if workflow is None:
            continue
        tier = policy.tier_for(row["workflow"], workflow["tier"]) if policy else None
        rows.append(_step(row, workflow, tier, seen_pairs, at, (in_code or {}).get(row["workflow"])))
    steps = pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()
    if rows:
        steps = steps.sort(["order", "calls"], descending=[False, True])
    report = Report(
        kind="plan",
        title="Plan: moving each workflow's direct calls to the Vercel AI Gateway",
        period=(params.since, params.until),
        filters=dict(params.filters),
        based_on=int(direct["calls"].sum() or 0) if rows else 0,
    )
    report.headlines += _headlines(steps, report.based_on)
    report.tables += [
        Table(
            "plan",
            "Per workflow, in migration order: the model on the gateway, a fallback, the cost",
            steps.select(_PLAN_COLUMNS) if rows else steps,
            "Costs re-price each row's reported usage at list prices of "
            f"{at:%Y-%m-%d}; NULL where usage or a price is unknown.",
        ),
        Table(
            "changes",
            "Per workflow, in migration order: what changes in the client",
            steps.select(_CHANGE_COLUMNS) if rows else steps,
            "base_url is the server the calls reached today; in_code, the scanned units holding the "
            "workflow's key or tag (modelmeter scan --db).",
        ),
    ]
    if rows:
        first = steps.row(0, named=True)
        report.summary = (
            f"Move {first['workflow']} first: point its {first['sdk']} client at {first['new_base_url']} "
            f"with model {first['gateway_model']!r}, authenticated by {NEW_AUTH.replace(' or ', ' (or ')}) "
            f"instead of its {first['key_kind']}."
        )
    report.notes.append(
        f"Based on {report.based_on:,} direct calls with a workflow and a model. Fallbacks come from "
        + (
            f"tier policy {policy_name}."
            if policy
            else "models seen for the same kind of operation at the closest list price (no tier policy)."
        )
    )
    report.notes.append(
        "At list prices the gateway charges what the provider does: the cost of the change is non-zero "
        "only where the gateway's model id prices differently."
    )
    return report


def _step(
    row: dict,
    workflow: dict,
    tier: Tier | None,
    seen: list[tuple[str, str]],
    at: datetime,
    in_code: str | None,
) -> dict:
    model = str(row["model"])
    gateway_model = gateway_model_id(model)
    usage = _usage(row)
    today = _cost(model, usage, at)
    on_gateway = _cost(gateway_model, usage, at)
    if on_gateway is None:  # the gateway id is unknown to the price source: it is the same model
        on_gateway = today
    fallback, fallback_cost = _fallback(row, tier, seen, usage, today, at)
    base_url, sdk_change = _surface(str(row["sdk"] or ""))
    return {
        "order": workflow["migration_rank"],
        "workflow": row["workflow"],
        "tier": tier.name if tier else workflow["tier"],
        "calls": row["calls"],
        "provider": row["provider"],
        "model": model,
        "operation": row["operation"],
        "sdk": row["sdk"],
        "base_url": row["server_address"],
        "key_kind": row["auth_kind"],
        "gateway_model": gateway_model,
        "new_base_url": base_url,
        "sdk_change": sdk_change,
        "new_auth": NEW_AUTH,
        "check": None
        if row["operation"] in _GATEWAY_OPERATIONS
        else f"that the gateway serves {row['operation']} for {gateway_model}",
        "fallback_model": fallback,
        "calls_with_usage": row["calls_with_usage"],
        "list_cost_today_usd": today,
        "list_cost_on_gateway_usd": on_gateway,
        "cost_change_usd": on_gateway - today if on_gateway is not None and today is not None else None,
        "fallback_list_cost_usd": fallback_cost,
        "in_code": in_code,
    }


def _surface(sdk: str) -> tuple[str, str]:
    """(base URL, what changes in the client) for calls made with `sdk` today."""
    if sdk.startswith("openai"):
        return OPENAI_COMPATIBLE_URL, "same SDK"
    if sdk.startswith("anthropic"):
        return ANTHROPIC_COMPATIBLE_URL, "same SDK (Anthropic Messages API)"
    return OPENAI_COMPATIBLE_URL, f"openai SDK instead of {sdk or 'this SDK'} (or the AI SDK's gateway())"


def _fallback(
    row: dict,
    tier: Tier | None,
    seen: list[tuple[str, str]],
    usage: tuple[CallUsage, int] | None,
    today: float | None,
    at: datetime,
) -> tuple[str | None, float | None]:
    """A model from another provider for the same kind of operation: in the tier (cheapest at this
    usage) when there is a tier, else the closest list cost to today's."""
    provider = row["provider"]
    candidates = {m for m, operation in seen if _same_kind(operation, row["operation"])}
    if tier is not None:
        candidates |= {p for p in tier.models if not any(c in p for c in "*?[")}
        candidates = {m for m in candidates if tier.check(m, list_rates(m, at))[0] == "ok"}
    candidates = {gateway_model_id(m) for m in candidates if m.partition("/")[0] != provider}
    if not candidates:
        return None, None
    priced = sorted((cost, m) for m in candidates if (cost := _cost(m, usage, at)) is not None)
    if not priced:
        return min(candidates), None
    if tier is not None or today is None:
        cost, model = priced[0]
    else:
        cost, model = min(priced, key=lambda pair: (abs(pair[0] - today), pair[1]))
    return model, cost


def _same_kind(a: str | None, b: str | None) -> bool:
    return a == b or (a in _TEXT_OPERATIONS and b in _TEXT_OPERATIONS)


def _usage(row: dict) -> tuple[CallUsage, int] | None:
    """The summed usage of a row's calls that reported it, and how many they are; None when none did."""
    if row["input_tokens"] is None or not row["calls_with_usage"]:
        return None

    def tokens(part: str) -> int:
        return int(row.get(f"{part}_tokens") or 0)

    usage = CallUsage(
        tokens("input"), tokens("output"), tokens("cache_read"), tokens("cache_write"), tokens("reasoning")
    )
    return usage, int(row["calls_with_usage"])


def _cost(model: str, usage: tuple[CallUsage, int] | None, at: datetime) -> float | None:
    rates = list_rates(model, at)
    if rates is None or usage is None:
        return None
    return float(rates.cost(*usage))


def _policy(params: ReportParams) -> tuple[Policy | None, str | None]:
    """The tier policy: --policy, else tiers.toml in MODELMETER_HOME when it exists, else none."""
    path = params.policy or default_policy_path()
    if not path.exists():
        if params.policy is None:
            return None, None
        raise ValueError(f"no tier policy at {path}")
    return load_policy(path), path.name


def _headlines(steps: pl.DataFrame, direct_calls: int) -> list[Headline]:
    def total(column: str) -> tuple[float | None, int]:
        if steps.is_empty():
            return 0.0, 0
        known = steps.filter(pl.col(column).is_not_null())
        value = float(known[column].sum()) if not known.is_empty() else None
        return value, int(known["calls_with_usage"].sum() or 0)

    today, today_calls = total("list_cost_today_usd")
    gateway, gateway_calls = total("list_cost_on_gateway_usd")
    change, change_calls = total("cost_change_usd")
    workflows = steps["workflow"].n_unique() if not steps.is_empty() else 0
    return [
        Headline(
            "workflows_to_move",
            "Workflows with direct calls",
            workflows,
            "count",
            "Workflows with at least one call on route direct (and a model).",
            direct_calls,
        ),
        Headline(
            "list_cost_today_usd",
            "Direct calls at list prices today",
            today,
            "usd",
            "Their reported usage re-priced at today's model's base-tier list price.",
            today_calls,
        ),
        Headline(
            "list_cost_on_gateway_usd",
            "The same usage on the gateway",
            gateway,
            "usd",
            "The same usage at the list price of the gateway's model id.",
            gateway_calls,
        ),
        Headline(
            "cost_change_usd",
            "Cost of the change at list prices",
            change,
            "usd",
            "Gateway minus today, over rows where both are known.",
            change_calls,
        ),
    ]
