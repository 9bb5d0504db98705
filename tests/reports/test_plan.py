"""`modelmeter report plan` on the demo's database: per workflow in the inventory's migration order,
the gateway model id, the client change, a fallback from another provider in the tier, list costs."""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from support.demo import DemoRun, demo_run_once, modelmeter_command

from modelmeter.pricing import CallUsage, list_rates
from modelmeter.reports.params import ReportParams
from modelmeter.reports.plan import gateway_model_id, plan


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    return demo_run_once(tmp_path_factory)


def _report(kind: str, db: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MODELMETER_HOME": str(home), "COLUMNS": "120", "NO_COLOR": "1"}
    return subprocess.run(
        [*modelmeter_command(), "report", kind, "--db", str(db), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def _json(kind: str, db: Path, home: Path, *args: str) -> dict[str, Any]:
    done = _report(kind, db, home, "--format", "json", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _rows(report: dict[str, Any], table: str) -> list[dict[str, Any]]:
    return report["tables"][table]["rows"]


def test_the_plan_follows_the_inventory_order_with_gateway_ids_and_client_changes(demo_run: DemoRun) -> None:
    report = _json("plan", demo_run.db, demo_run.home)
    inventory = _json("inventory", demo_run.db, demo_run.home)
    candidate = next(h["value"] for h in inventory["headlines"] if h["key"] == "migration_candidate")
    steps = _rows(report, "plan")
    assert steps[0]["workflow"] == candidate and steps[0]["order"] == 1
    assert [s["order"] for s in steps] == sorted(s["order"] for s in steps)
    with duckdb.connect(str(demo_run.db), read_only=True) as con:
        query = (
            "SELECT workflow, count(*) FROM calls WHERE route = 'direct' AND workflow IS NOT NULL GROUP BY 1"
        )
        direct = dict(con.execute(query).fetchall())
    planned: dict[str, int] = {}
    for step in steps:
        planned[step["workflow"]] = planned.get(step["workflow"], 0) + step["calls"]
    assert planned == direct  # every direct call is planned once; gateway-only workflows are not
    assert "client-proposals" not in planned
    changes = {(c["workflow"], c["model"]): c for c in _rows(report, "changes")}
    notes = changes[("ticket-classification", "mistral/mistral-small-latest")]
    assert next(s for s in steps if s["workflow"] == "ticket-classification")["gateway_model"] == (
        "mistral/mistral-small"
    )
    assert notes["new_base_url"] == "https://ai-gateway.vercel.sh/v1"
    assert notes["sdk_change"] == "openai SDK instead of mistral-client-python (or the AI SDK's gateway())"
    assert notes["key_kind"] == "mistral-key"
    assert notes["new_auth"] == "AI_GATEWAY_API_KEY or VERCEL_OIDC_TOKEN"
    claude = changes[("meeting-notes", "anthropic/claude-haiku-4.5")]
    assert (claude["new_base_url"], claude["sdk_change"]) == (
        "https://ai-gateway.vercel.sh",
        "same SDK (Anthropic Messages API)",
    )
    images = changes[("product-images", "openai/gpt-image-1")]
    assert images["check"] == "that the gateway serves images for openai/gpt-image-1"
    assert report["summary"].startswith(f"Move {candidate} first: point its ")


def test_fallbacks_come_from_the_tier_policy_and_another_provider(demo_run: DemoRun) -> None:
    report = _json("plan", demo_run.db, demo_run.home)
    policy = tomllib.loads((demo_run.home / "tiers.toml").read_text())
    for step in _rows(report, "plan"):
        tier = policy["tiers"][policy["workflows"][step["workflow"]]]
        fallback = step["fallback_model"]
        if fallback is None:
            # media: the only image model seen is OpenAI's own, and the tier names no concrete model
            assert step["workflow"] == "product-images"
            assert step["fallback_list_cost_usd"] is None
            continue
        assert fallback.partition("/")[0] != step["model"].partition("/")[0]
        assert any(fnmatch.fnmatchcase(fallback, pattern) for pattern in tier["models"])
    assert "Fallbacks come from tier policy tiers.toml." in report["notes"][0]


def test_costs_re_price_the_real_usage_at_list_prices(demo_run: DemoRun) -> None:
    report = _json("plan", demo_run.db, demo_run.home)
    step = next(s for s in _rows(report, "plan") if s["workflow"] == "field-extraction")
    with duckdb.connect(str(demo_run.db), read_only=True) as con:
        tokens = con.execute(
            """SELECT sum(input_tokens), sum(output_tokens), sum(coalesce(cache_read_tokens, 0)),
                 sum(coalesce(cache_write_tokens, 0)), sum(coalesce(reasoning_tokens, 0)), count(*)
               FROM calls WHERE workflow = 'field-extraction' AND route = 'direct' AND usage_known"""
        ).fetchone()
    assert tokens is not None
    at = datetime.fromisoformat(report["period"]["until"])  # the window's end, as the report prices
    usage = CallUsage(*(int(t) for t in tokens[:5]))
    rates = list_rates("openai/gpt-4.1-nano", at.astimezone(UTC))
    assert rates is not None
    expected = float(rates.cost(usage, requests=tokens[5]))
    assert step["calls_with_usage"] == tokens[5]
    assert step["list_cost_today_usd"] == pytest.approx(expected, rel=1e-9)
    assert step["cost_change_usd"] == 0
    fallback_rates = list_rates(step["fallback_model"], at.astimezone(UTC))
    assert fallback_rates is not None
    assert step["fallback_list_cost_usd"] == pytest.approx(
        float(fallback_rates.cost(usage, requests=tokens[5])), rel=1e-9
    )
    headline = next(h for h in report["headlines"] if h["key"] == "list_cost_today_usd")
    total = sum(
        s["list_cost_today_usd"] for s in _rows(report, "plan") if s["list_cost_today_usd"] is not None
    )
    assert headline["value"] == pytest.approx(total)


def test_without_a_policy_the_fallback_is_the_closest_list_price(demo_run: DemoRun, tmp_path: Path) -> None:
    report = _json("plan", demo_run.db, tmp_path)  # a home without tiers.toml
    assert "no tier policy" in report["notes"][0]
    steps = {s["workflow"]: s for s in _rows(report, "plan")}
    code = steps["code-synthesis"]  # gemini-2.5-pro: openai/gpt-5 has the same list prices
    assert code["fallback_model"] == "openai/gpt-5"
    assert code["fallback_list_cost_usd"] == pytest.approx(code["list_cost_today_usd"])


def test_a_missing_policy_file_is_one_line(demo_run: DemoRun, tmp_path: Path) -> None:
    done = _report("plan", demo_run.db, tmp_path, "--policy", str(tmp_path / "nope.toml"))
    assert done.returncode == 64  # a bad --policy is bad usage
    assert done.stderr == f"modelmeter report: no tier policy at {tmp_path / 'nope.toml'}\n"


def test_unknown_usage_is_not_priced_at_zero() -> None:
    order = pl.DataFrame({"workflow": ["w"], "tier": [None], "migration_rank": [1]})
    direct = pl.DataFrame(
        {
            "workflow": ["w"],
            "provider": ["openai"],
            "model": ["openai/gpt-4.1-nano"],
            "operation": ["chat"],
            "sdk": ["openai"],
            "server_address": ["api.openai.com"],
            "auth_kind": ["openai-project-key"],
            "calls": [3],
            "calls_with_usage": [0],
            "input_tokens": [None],
            "output_tokens": [None],
            "cache_read_tokens": [None],
            "cache_write_tokens": [None],
            "reasoning_tokens": [None],
        },
        schema_overrides={
            f"{k}_tokens": pl.Float64 for k in ("input", "output", "cache_read", "cache_write")
        },
    )
    seen = pl.DataFrame({"model": ["openai/gpt-4.1-nano"], "operation": ["chat"]})
    report = plan(order, direct, seen, None, ReportParams(until=datetime(2026, 12, 1, tzinfo=UTC)))
    [step] = report.table("plan").frame.to_dicts()
    assert step["list_cost_today_usd"] is None and step["cost_change_usd"] is None
    assert report.headline("list_cost_today_usd").value is None
    assert gateway_model_id("mistral/mistral-large-latest") == "mistral/mistral-large"
