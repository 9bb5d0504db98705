"""Every headline number of every report equals a direct SQL computation over `calls`."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from support.report_data import assert_reproduced_by_sql, build_synthetic_db, write_policy
from support.synthetic_calls import OUTAGE_PROVIDER

from modelmeter.pricing import list_rates
from modelmeter.reports import Report, ReportParams, build_report, histogram, open_db


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_synthetic_db(tmp_path_factory.mktemp("reports"))


@pytest.fixture(scope="module")
def con(db_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = open_db(db_path)
    yield connection
    connection.close()


def sql_value(con: duckdb.DuckDBPyConnection, sql: str, args: dict | None = None) -> Any:
    return con.sql(sql, params=args or {}).fetchall()[0][0]


def number(report: Report, key: str) -> float:
    value = report.headline(key).value
    assert isinstance(value, int | float), (key, value)
    return float(value)


def assert_headlines(
    con: duckdb.DuckDBPyConnection,
    report: Report,
    expected_sql: dict[str, str],
    where: str = "TRUE",
    args: dict | None = None,
) -> None:
    assert expected_sql, "a test must check at least one headline"
    for key, expression in expected_sql.items():
        expected = sql_value(con, f"SELECT {expression} FROM calls WHERE {where}", args)
        actual = report.headline(key).value
        assert expected is not None, key
        assert actual is not None, key
        assert math.isclose(float(actual), float(expected), rel_tol=1e-9, abs_tol=1e-9), (
            key,
            actual,
            expected,
        )


def test_inventory_headlines_equal_sql(con: duckdb.DuckDBPyConnection) -> None:
    report = build_report("inventory", con)
    assert report.based_on == sql_value(con, "SELECT count(*) FROM calls")
    assert_headlines(
        con,
        report,
        {
            "calls": "count(*)",
            "workflows": "count(DISTINCT workflow)",
            "providers": "count(DISTINCT provider)",
            "models": "count(DISTINCT model)",
            "keys": "count(DISTINCT key_fingerprint)",
            "direct_keys": "count(DISTINCT CASE WHEN route = 'direct' THEN key_fingerprint END)",
            "spend_usd": "sum(cost_usd)",
            "unattributed_calls": "sum(CASE WHEN workflow IS NULL THEN 1 ELSE 0 END)",
            "calls_without_usage": "sum(CASE WHEN status = 'ok' AND usage_known = false THEN 1 ELSE 0 END)",
            "unpriced_calls": "sum(CASE WHEN usage_known AND cost_usd IS NULL THEN 1 ELSE 0 END)",
            "truncated_streams": "sum(CASE WHEN truncated THEN 1 ELSE 0 END)",
        },
    )


def test_inventory_names_a_migration_candidate_that_still_calls_providers_directly(
    con: duckdb.DuckDBPyConnection,
) -> None:
    report = build_report("inventory", con)
    candidate = report.headline("migration_candidate")
    direct = sql_value(
        con, "SELECT count(*) FROM calls WHERE workflow = $w AND route = 'direct'", {"w": candidate.value}
    )
    assert direct and direct > 0
    assert candidate.based_on == sql_value(
        con, "SELECT count(*) FROM calls WHERE workflow = $w", {"w": candidate.value}
    )
    assert "of calls" in candidate.definition and "tier" in candidate.definition
    keys = report.table("direct_keys").frame
    expected = sql_value(con, "SELECT count(DISTINCT key_fingerprint) FROM calls WHERE route = 'direct'")
    assert keys.height == expected


def test_cost_headlines_equal_sql_and_respect_filters(con: duckdb.DuckDBPyConnection) -> None:
    params = ReportParams(filters={"team": ("support", "knowledge")})
    report = build_report("cost", con, params)
    where = "team IN ('support', 'knowledge')"
    assert_headlines(
        con,
        report,
        {
            "calls": "count(*)",
            "spend_usd": "sum(cost_usd)",
            "cost_per_call_usd": "sum(cost_usd) / count(cost_usd)",
            "cost_per_1k_tokens_usd": "1000 * sum(cost_usd) "
            "/ sum(CASE WHEN cost_usd IS NOT NULL THEN input_tokens + output_tokens END)",
            "input_tokens": "sum(input_tokens)",
            "output_tokens": "sum(output_tokens)",
            "reported_cost_usd": "sum(CASE WHEN cost_usd IS NOT NULL THEN reported_cost_usd END)",
            "reported_minus_estimated_usd": "sum(reported_cost_usd - cost_usd)",
        },
        where,
    )
    by_day = report.table("spend_by_day").frame
    assert math.isclose(
        by_day["spend_usd"].sum(), float(sql_value(con, f"SELECT sum(cost_usd) FROM calls WHERE {where}"))
    )


def test_cost_week_over_week_compares_the_last_7_days_with_the_7_before(
    con: duckdb.DuckDBPyConnection,
) -> None:
    report = build_report("cost", con)
    until = report.period[1]
    assert until is not None
    args = {"mid": until - timedelta(days=7), "start": until - timedelta(days=14), "until": until}
    this_week = sql_value(
        con,
        "SELECT sum(cost_usd) FROM calls WHERE start_time >= $mid AND start_time < $until",
        {"mid": args["mid"], "until": until},
    )
    prior = sql_value(
        con,
        "SELECT sum(cost_usd) FROM calls WHERE start_time >= $start AND start_time < $mid",
        {"mid": args["mid"], "start": args["start"]},
    )
    assert this_week is not None and prior is not None
    assert math.isclose(number(report, "spend_this_week_usd"), float(this_week))
    assert math.isclose(number(report, "spend_prior_week_usd"), float(prior))
    assert math.isclose(number(report, "spend_wow_change"), float(this_week) / float(prior) - 1)


def test_latency_percentiles_equal_sql_over_successful_calls(con: duckdb.DuckDBPyConnection) -> None:
    report = build_report("latency", con, ReportParams(filters={"route": ("gateway",)}))
    ok = "FILTER (WHERE status = 'ok')"
    streamed = "FILTER (WHERE status = 'ok' AND ttft_ms IS NOT NULL)"
    assert_headlines(
        con,
        report,
        {
            "p50_ms": f"quantile_cont(duration_ms, 0.5) {ok}",
            "p90_ms": f"quantile_cont(duration_ms, 0.9) {ok}",
            "p95_ms": f"quantile_cont(duration_ms, 0.95) {ok}",
            "p99_ms": f"quantile_cont(duration_ms, 0.99) {ok}",
            "ttft_p50_ms": f"quantile_cont(ttft_ms, 0.5) {streamed}",
            "ttft_p95_ms": f"quantile_cont(ttft_ms, 0.95) {streamed}",
            "tokens_per_s_p50": "quantile_cont(output_tokens / "
            "((duration_ms - coalesce(ttft_ms, 0)) / 1000.0), 0.5) "
            "FILTER (WHERE status = 'ok' AND output_tokens > 0 AND duration_ms > coalesce(ttft_ms, 0))",
        },
        "route = 'gateway'",
    )
    assert report.headline("p50_ms").based_on == sql_value(
        con, "SELECT count(*) FROM calls WHERE route = 'gateway' AND status = 'ok'"
    )


def test_failover_rates_equal_sql_and_the_planted_outage_is_found(con: duckdb.DuckDBPyConnection) -> None:
    report = build_report("failover", con)
    assert_headlines(
        con,
        report,
        {
            "error_rate": "avg(CASE WHEN status = 'error' THEN 1.0 ELSE 0 END)",
            "rate_429": "avg(CASE WHEN http_status = 429 THEN 1.0 ELSE 0 END)",
            "rate_5xx": "avg(CASE WHEN http_status >= 500 AND http_status < 600 THEN 1.0 ELSE 0 END)",
            "timeout_rate": "avg(CASE WHEN error_type = 'timeout' THEN 1.0 ELSE 0 END)",
            "retried_calls": "sum(CASE WHEN attempts > 1 THEN 1 ELSE 0 END)",
            "extra_attempts": "sum(attempts - 1)",
            "fallbacks_saved": "sum(CASE WHEN fallback_from IS NOT NULL AND status = 'ok' THEN 1 ELSE 0 END)",
            "gateway_fallbacks": "sum(CASE WHEN route = 'gateway' AND (attempts > 1 OR "
            "(attributes->>'$.\"modelmeter.gateway.first_choice\"') <> platform) THEN 1 ELSE 0 END)",
        },
    )
    failed_ms = sql_value(con, "SELECT sum(duration_ms) FROM attempts WHERE status = 'error'")
    assert math.isclose(number(report, "failed_attempt_ms"), failed_ms)
    outages = report.table("outage_windows").frame
    assert report.headline("outage_windows").value == outages.height >= 1
    assert OUTAGE_PROVIDER in outages["provider"].to_list()
    unprotected = set(report.table("workflows_without_fallback").frame["workflow"].to_list())
    with_fallback = {
        r[0]
        for r in con.sql("SELECT DISTINCT workflow FROM calls WHERE fallback_from IS NOT NULL").fetchall()
    }
    assert unprotected and not unprotected & with_fallback


def test_compare_direct_vs_gateway_gives_exact_differences_with_intervals(
    con: duckdb.DuckDBPyConnection,
) -> None:
    report = build_report("compare", con)
    table = report.table("comparison").frame
    top = table.row(0, named=True)
    where = "workflow = $w AND model = $m"
    args = {"w": top["workflow"], "m": top["model"]}
    p50 = {
        route: sql_value(
            con,
            f"SELECT quantile_cont(duration_ms, 0.5) FROM calls WHERE {where} AND status = 'ok' "
            f"AND route = '{route}'",
            args,
        )
        for route in ("direct", "gateway")
    }
    assert math.isclose(number(report, "p50_diff_ms"), p50["gateway"] - p50["direct"])
    for arm, route in (("a", "direct"), ("b", "gateway")):
        expected = sql_value(
            con,
            f"SELECT avg(CASE WHEN status = 'error' THEN 1.0 ELSE 0 END) FROM calls WHERE {where} "
            f"AND route = '{route}'",
            args,
        )
        assert math.isclose(number(report, f"error_rate_{arm}"), expected)
    costs = {
        route: sql_value(con, f"SELECT avg(cost_usd) FROM calls WHERE {where} AND route = '{route}'", args)
        for route in ("direct", "gateway")
    }
    assert math.isclose(
        number(report, "cost_per_call_change"), float(costs["gateway"]) / float(costs["direct"]) - 1
    )
    assert top["p50_diff_lo"] <= top["p50_diff_ms"] <= top["p50_diff_hi"]
    assert top["conclusive"] and "p50" in top["verdict"] and "errors" in top["verdict"]


def test_compare_declines_on_too_few_calls_and_says_how_many_more(con: duckdb.DuckDBPyConnection) -> None:
    first = sql_value(con, "SELECT min(start_time) FROM calls")
    until = sql_value(
        con,
        "SELECT start_time FROM calls WHERE workflow = 'support-triage' AND route = 'gateway' "
        "ORDER BY start_time LIMIT 1 OFFSET 40",
    )
    params = ReportParams(since=first, until=until, filters={"workflow": ("support-triage",)})
    report = build_report("compare", con, params)
    verdicts = report.table("comparison").frame["verdict"].to_list()
    assert verdicts and all("too few calls to conclude" in v and "more" in v for v in verdicts)
    assert report.headline("groups_conclusive").value == 0


def test_compare_by_run_uses_the_two_given_values(con: duckdb.DuckDBPyConnection) -> None:
    params = ReportParams(by="run", a="baseline", b="gateway-pilot", keep_incidents=True)
    report = build_report("compare", con, params)
    assert report.headline("calls_a").value == sql_value(
        con, "SELECT count(*) FROM calls WHERE run = 'baseline'"
    )
    assert report.headline("calls_b").value == sql_value(
        con, "SELECT count(*) FROM calls WHERE run = 'gateway-pilot'"
    )


def test_tiers_finds_the_workflow_outside_its_tier_and_prices_the_move(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    report = build_report("tiers", con, ReportParams(policy=write_policy(tmp_path)))
    assert report.headline("violating_calls").value == sql_value(
        con, "SELECT count(*) FROM calls WHERE workflow = 'sales-email'"
    )
    assert report.headline("violating_workflows").value == 1
    assert report.headline("untiered_calls").value == sql_value(
        con, "SELECT count(*) FROM calls WHERE workflow IS NULL"
    )
    saving = report.table("savings").frame.filter(workflow="sales-email").row(0, named=True)
    spend, tokens_in, tokens_out = con.sql(
        "SELECT sum(cost_usd)::DOUBLE, sum(input_tokens) FILTER (WHERE cost_usd IS NOT NULL), "
        "sum(output_tokens) FILTER (WHERE cost_usd IS NOT NULL) FROM calls WHERE workflow = 'sales-email'"
    ).fetchall()[0]
    cheapest = list_rates(saving["cheapest_model"], report.period[1])
    assert cheapest is not None and saving["cheapest_model"] != "openai/gpt-4o"
    expected = spend - (tokens_in * float(cheapest.per_input) + tokens_out * float(cheapest.per_output))
    assert math.isclose(saving["saving_usd"], expected, rel_tol=1e-9)
    assert number(report, "estimated_saving_usd") >= saving["saving_usd"] > 0


def test_weekly_covers_the_last_7_days_and_its_headlines_equal_sql(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    report = build_report("weekly", con, ReportParams(policy=write_policy(tmp_path)))
    since, until = report.period
    assert since is not None and until is not None and until - since == timedelta(days=7)
    args = {"since": since, "until": until}
    week = "start_time >= $since AND start_time < $until"
    assert report.based_on == sql_value(con, f"SELECT count(*) FROM calls WHERE {week}", args)
    assert_headlines(
        con,
        report,
        {
            "cost.spend_usd": "sum(cost_usd)",
            "cost.cost_per_call_usd": "sum(cost_usd) / count(cost_usd)",
            "inventory.calls": "count(*)",
            "inventory.direct_keys": "count(DISTINCT CASE WHEN route = 'direct' THEN key_fingerprint END)",
            "latency.p50_ms": "quantile_cont(duration_ms, 0.5) FILTER (WHERE status = 'ok')",
            "latency.p95_ms": "quantile_cont(duration_ms, 0.95) FILTER (WHERE status = 'ok')",
            "latency.ttft_p50_ms": "quantile_cont(ttft_ms, 0.5) "
            "FILTER (WHERE status = 'ok' AND ttft_ms IS NOT NULL)",
            "failover.error_rate": "avg(CASE WHEN status = 'error' THEN 1.0 ELSE 0 END)",
            "failover.rate_429": "avg(CASE WHEN http_status = 429 THEN 1.0 ELSE 0 END)",
            "tiers.violating_calls": "sum(CASE WHEN workflow = 'sales-email' THEN 1 ELSE 0 END)",
        },
        week,
        args,
    )
    prior = {"start": since - timedelta(days=7), "since": since}
    prior_spend = sql_value(
        con, "SELECT sum(cost_usd) FROM calls WHERE start_time >= $start AND start_time < $since", prior
    )
    this_spend = sql_value(con, f"SELECT sum(cost_usd) FROM calls WHERE {week}", args)
    assert math.isclose(number(report, "cost.spend_wow_change"), float(this_spend) / float(prior_spend) - 1)
    sections = {h.key.split(".")[0] for h in report.headlines}
    assert sections == {"cost", "inventory", "latency", "failover", "compare", "tiers"}
    assert all(h.definition and h.based_on >= 0 for h in report.headlines)


def test_every_weekly_headline_with_sql_is_reproduced_by_it_over_the_week(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    report = build_report("weekly", con, ReportParams(policy=write_policy(tmp_path)))
    args = {"since": report.period[0], "until": report.period[1]}
    with_sql = [h for h in report.headlines if h.sql]
    assert {"latency.p50_ms", "latency.p95_ms", "latency.ttft_p50_ms", "cost.spend_usd"} <= {
        h.key for h in with_sql
    }
    assert all(h.value is not None for h in with_sql), [h.key for h in with_sql if h.value is None]
    assert_reproduced_by_sql(con, with_sql, args)


def test_weekly_table_percentiles_say_they_are_approximate_and_stay_within_the_bound(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    report = build_report("weekly", con, ReportParams(policy=write_policy(tmp_path)))
    args = {"since": report.period[0], "until": report.period[1]}
    table = report.table("latency_by_model")
    assert f"{histogram.RELATIVE_ERROR:.2%}" in table.description
    assert any("Latency:" in note for note in report.notes)
    for row in table.frame.head(4).iter_rows(named=True):
        group = {k: row[k] for k in ("model", "route", "provider", "gateway")}
        exact = con.sql(
            "SELECT quantile_disc(duration_ms, 0.5), quantile_disc(duration_ms, 0.99), count(*) FROM calls "
            "WHERE start_time >= $since AND start_time < $until AND status = 'ok' AND model = $model "
            "AND route = $route AND provider = $provider AND gateway IS NOT DISTINCT FROM $gateway",
            params={**args, **group},
        ).fetchall()[0]
        assert row["ok_calls"] == exact[2]
        for value, truth in ((row["duration_p50_ms"], exact[0]), (row["duration_p99_ms"], exact[1])):
            assert abs(value - truth) <= histogram.RELATIVE_ERROR * truth, (group, value, truth)


def largest_group_by_route(con: duckdb.DuckDBPyConnection, report: Report) -> dict[str, tuple]:
    """Per route: exact p50 of successful calls, error rate and mean cost of the report's largest group."""
    top = report.table("comparison").frame.row(0, named=True)
    where = "start_time >= $since AND start_time < $until AND workflow = $w AND model = $m AND route = $r"
    return {
        route: con.sql(
            "SELECT quantile_cont(duration_ms, 0.5) FILTER (WHERE status = 'ok'), "
            f"avg(CASE WHEN status = 'error' THEN 1.0 ELSE 0 END), avg(cost_usd) FROM calls WHERE {where}",
            params={
                "since": report.period[0],
                "until": report.period[1],
                "w": top["workflow"],
                "m": top["model"],
                "r": route,
            },
        ).fetchall()[0]
        for route in ("direct", "gateway")
    }


def test_weekly_compare_headlines_equal_sql_over_the_largest_group(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    report = build_report("weekly", con, ReportParams(policy=write_policy(tmp_path)))
    truth = largest_group_by_route(con, report)
    assert math.isclose(number(report, "compare.p50_diff_ms"), truth["gateway"][0] - truth["direct"][0])
    assert math.isclose(number(report, "compare.error_rate_a"), truth["direct"][1])
    assert math.isclose(number(report, "compare.error_rate_b"), truth["gateway"][1])
    assert math.isclose(
        number(report, "compare.cost_per_call_change"),
        float(truth["gateway"][2]) / float(truth["direct"][2]) - 1,
    )
    top = report.table("comparison").frame.row(0, named=True)
    assert top["p50_diff_lo"] <= top["p50_diff_ms"] <= top["p50_diff_hi"]


def test_weekly_compare_by_another_column_runs_the_compare_report(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    params = ReportParams(policy=write_policy(tmp_path), by="run", a="baseline", b="gateway-pilot")
    report = build_report("weekly", con, params)
    assert "compare.error_rate_a" in {h.key for h in report.headlines}
    assert report.headline("compare.error_rate_a").label == "Error rate on baseline"


@pytest.mark.parametrize("kind", ["inventory", "cost", "latency", "failover"])
def test_each_headline_carries_sql_that_reproduces_its_value_and_call_count(
    con: duckdb.DuckDBPyConnection, kind: str
) -> None:
    report = build_report(kind, con, ReportParams(filters={"provider": ("openai", "google")}))
    with_sql = [h for h in report.headlines if h.sql]
    assert len(with_sql) >= 5
    for h in with_sql:
        value, based_on = con.sql(
            f"SELECT {h.sql}, {h.based_on_sql} FROM calls WHERE provider IN ('openai', 'google')"
        ).fetchall()[0]
        assert h.based_on == based_on, h.key
        if value is None:
            assert h.value is None, h.key
        else:
            assert math.isclose(float(h.value), float(value), rel_tol=1e-9), (h.key, h.value, value)


def test_a_filter_that_matches_nothing_reports_zero_calls_and_says_so(con: duckdb.DuckDBPyConnection) -> None:
    report = build_report("failover", con, ReportParams(filters={"workflow": ("no-such-workflow",)}))
    assert report.based_on == 0 and report.headline("calls").value == 0
    assert report.headline("error_rate").value is None  # a rate over no calls is unknown, not zero
    assert report.notes[0].startswith("No calls match")


def test_weekly_percentiles_stay_exact_when_too_many_values_share_their_buckets(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(histogram, "MAX_NEAR_VALUES", 0)  # every percentile computed by DuckDB instead
    report = build_report("weekly", con, ReportParams(policy=write_policy(tmp_path)))
    args = {"since": report.period[0], "until": report.period[1]}
    assert_headlines(
        con,
        report,
        {
            "latency.p50_ms": "quantile_cont(duration_ms, 0.5) FILTER (WHERE status = 'ok')",
            "latency.ttft_p50_ms": "quantile_cont(ttft_ms, 0.5) FILTER (WHERE status = 'ok' AND ttft_ms > 0)",
        },
        "start_time >= $since AND start_time < $until",
        args,
    )
    truth = largest_group_by_route(con, report)
    assert math.isclose(number(report, "compare.p50_diff_ms"), truth["gateway"][0] - truth["direct"][0])


def test_weekly_with_a_shorter_window_still_compares_the_last_7_days_with_the_7_before(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    until = sql_value(con, "SELECT max(start_time) FROM calls") + timedelta(microseconds=1)
    params = ReportParams(since=until - timedelta(days=3), until=until, policy=write_policy(tmp_path))
    report = build_report("weekly", con, params)
    assert report.period == (until - timedelta(days=3), until)
    assert report.based_on == sql_value(
        con,
        "SELECT count(*) FROM calls WHERE start_time >= $s AND start_time < $u",
        {"s": params.since, "u": until},
    )
    spend = {
        name: float(
            sql_value(
                con,
                "SELECT sum(cost_usd) FROM calls WHERE start_time >= $s AND start_time < $u",
                {"s": until - timedelta(days=days), "u": until - timedelta(days=days - 7)},
            )
        )
        for name, days in (("this", 7), ("prior", 14))
    }
    assert math.isclose(number(report, "cost.spend_wow_change"), spend["this"] / spend["prior"] - 1)
