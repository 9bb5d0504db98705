"""Synthetic but realistic `calls` rows, generated inside DuckDB with range() (10M rows in seconds).

Used by the report tests and bench/bench_reports.py, and handy for trying reports without traffic. The traffic
has the shapes the reports look for: several workflows, teams and tiers over four vendors plus an
unpriced self-hosted model; one workflow half migrated to a gateway (so compare has two arms);
streams with and without usage; 429s, 5xx and timeouts, with a provider outage 60% into the span; retries,
application fallbacks and gateway-internal fallbacks; gateway-reported costs beside our estimates;
traffic growing over time (so week over week moves). Every pseudo-random draw is a hash of the row
number, so the same (rows, start, days) always gives the same table, whatever the thread count.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb

from modelmeter.pricing import list_rates

DEFAULT_START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
OUTAGE_PROVIDER = "anthropic"
OUTAGE_AT = 0.6  # of the span, then moved to 14:00 UTC that day
OUTAGE_LENGTH = timedelta(minutes=60)


@dataclass(frozen=True, slots=True)
class _Model:
    model: str  # canonical provider/name
    platform: str
    operation: str
    sdk: str
    sdk_version: str
    server: str
    auth_kind: str
    base_ms: float
    ms_per_token: float
    cache_share: float = 0.0  # of input, at most
    reasoning_share: float = 0.0  # of output


_MODELS = {
    m.model: m
    for m in (
        _Model(
            "openai/gpt-4o-mini",
            "openai",
            "chat",
            "openai",
            "3.57.0",
            "api.openai.com",
            "openai-project-key",
            380,
            9,
        ),
        _Model(
            "openai/gpt-4o",
            "openai",
            "chat",
            "openai",
            "3.57.0",
            "api.openai.com",
            "openai-project-key",
            520,
            14,
        ),
        _Model(
            "openai/gpt-5",
            "openai",
            "responses",
            "openai",
            "3.57.0",
            "api.openai.com",
            "openai-project-key",
            900,
            16,
            0.2,
            0.5,
        ),
        _Model(
            "openai/text-embedding-3-small",
            "openai",
            "embeddings",
            "openai",
            "3.57.0",
            "api.openai.com",
            "openai-project-key",
            90,
            0,
        ),
        _Model(
            "anthropic/claude-sonnet-4.6",
            "anthropic",
            "chat",
            "anthropic",
            "2.14.0",
            "api.anthropic.com",
            "anthropic-key",
            700,
            15,
            0.6,
        ),
        _Model(
            "anthropic/claude-haiku-4-5",
            "anthropic",
            "chat",
            "anthropic",
            "2.14.0",
            "api.anthropic.com",
            "anthropic-key",
            420,
            8,
            0.4,
        ),
        _Model(
            "google/gemini-2.5-flash",
            "gcp.gen_ai",
            "generate_content",
            "google-genai",
            "3.6.0",
            "generativelanguage.googleapis.com",
            "google-api-key",
            450,
            6,
        ),
        _Model(
            "google/gemini-2.5-pro",
            "gcp.gen_ai",
            "generate_content",
            "google-genai",
            "3.6.0",
            "generativelanguage.googleapis.com",
            "google-api-key",
            1100,
            12,
            0.0,
            0.4,
        ),
        _Model(
            "mistral/mistral-small-latest",
            "mistral",
            "chat",
            "mistralai",
            "3.7.0",
            "api.mistral.ai",
            "mistral-key",
            350,
            7,
        ),
        _Model(
            "meta/llama-3.3-70b-local", "vllm", "chat", "openai", "3.57.0", "llm.internal", "none", 600, 20
        ),
    )
}

# workflow, team, tier, model, share of all traffic, gateway, share routed via it, stream share,
# mean input, mean output, error rate, run label direct/gateway, fallback_from (and its share)
_MIX: list[
    tuple[
        str | None,
        str | None,
        str | None,
        str,
        float,
        str | None,
        float,
        float,
        int,
        int,
        float,
        str | None,
        str | None,
        float,
    ]
] = [
    (
        "support-triage",
        "support",
        "economy",
        "openai/gpt-4o-mini",
        0.22,
        "vercel",
        0.5,
        0.8,
        1800,
        220,
        0.008,
        "baseline",
        None,
        0.0,
    ),
    (
        "support-triage",
        "support",
        "economy",
        "google/gemini-2.5-flash",
        0.08,
        "vercel",
        0.5,
        0.8,
        1800,
        240,
        0.01,
        "baseline",
        None,
        0.0,
    ),
    (
        "code-review",
        "platform",
        "premium",
        "anthropic/claude-sonnet-4.6",
        0.12,
        None,
        0.0,
        0.9,
        9000,
        900,
        0.012,
        None,
        None,
        0.0,
    ),
    (
        "code-review",
        "platform",
        "premium",
        "openai/gpt-5",
        0.03,
        None,
        0.0,
        0.5,
        7000,
        1500,
        0.01,
        None,
        None,
        0.0,
    ),
    (
        "doc-summarise",
        "knowledge",
        "standard",
        "anthropic/claude-haiku-4-5",
        0.14,
        "openrouter",
        0.3,
        0.3,
        5000,
        400,
        0.01,
        None,
        None,
        0.0,
    ),
    (
        "doc-summarise",
        "knowledge",
        "standard",
        "mistral/mistral-small-latest",
        0.06,
        "openrouter",
        0.3,
        0.3,
        5000,
        380,
        0.015,
        None,
        "anthropic/claude-haiku-4-5",
        0.25,
    ),
    (
        "search-embed",
        "knowledge",
        "economy",
        "openai/text-embedding-3-small",
        0.18,
        None,
        0.0,
        0.0,
        600,
        0,
        0.004,
        None,
        None,
        0.0,
    ),
    (
        "sales-email",
        "growth",
        "standard",
        "openai/gpt-4o",
        0.09,
        None,
        0.0,
        0.6,
        1200,
        350,
        0.01,
        None,
        None,
        0.0,
    ),
    (
        "research-agent",
        "platform",
        "premium",
        "google/gemini-2.5-pro",
        0.03,
        None,
        0.0,
        0.7,
        20000,
        1200,
        0.02,
        None,
        None,
        0.0,
    ),
    (
        "research-agent",
        "platform",
        "premium",
        "meta/llama-3.3-70b-local",
        0.02,
        None,
        0.0,
        0.7,
        8000,
        700,
        0.03,
        None,
        None,
        0.0,
    ),
    (None, None, None, "openai/gpt-4o-mini", 0.03, None, 0.0, 0.2, 800, 150, 0.01, None, None, 0.0),
]

_GATEWAYS = {
    "vercel": ("ai-gateway.vercel.sh", "vercel-gateway-key", "provider_metadata.gateway.cost"),
    "openrouter": ("openrouter.ai", "openrouter-key", "openrouter.usage.cost"),
}


def fingerprint(label: str) -> str:
    """A stable fake key fingerprint in the documented shape: 12 hex of SHA-256, then 4 more characters."""
    digest = hashlib.sha256(label.encode()).hexdigest()
    return f"{digest[:12]}…{digest[-4:]}"


def _sql_str(value: str | None) -> str:
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def _sql_num(value: float | None) -> str:
    return "NULL" if value is None else repr(float(value))


def _mix_values(at: datetime) -> str:
    """The traffic mix as a SQL VALUES list: one row per (workflow, model) with prices and key labels."""
    rows = []
    total = sum(row[4] for row in _MIX)
    low = 0
    for index, (
        wf,
        team,
        tier,
        model_name,
        share,
        gateway,
        gw_share,
        stream,
        mean_in,
        mean_out,
        err,
        run,
        fb,
        fb_share,
    ) in enumerate(_MIX):
        model = _MODELS[model_name]
        high = 1000 if index == len(_MIX) - 1 else low + round(1000 * share / total)
        rates = list_rates(model_name, at)
        # USD per 1M tokens of plain input, output and cache reads; NULL when unpriced
        per_million: list[float | None] = [None, None, None]
        if rates is not None:
            per_token = (rates.per_input, rates.per_output, rates.per_input + rates.per_cache_read)
            per_million = [float(rate * 1_000_000) for rate in per_token]
        provider = model_name.split("/")[0]
        gw_server, gw_auth, gw_cost_source = _GATEWAYS.get(gateway or "", (None, None, None))
        values = [
            str(low),
            str(high),
            _sql_str(wf),
            _sql_str(team),
            _sql_str(tier),
            _sql_str(model_name),
            _sql_str(provider),
            _sql_str(model.platform),
            _sql_str(model.operation),
            _sql_str(model.sdk),
            _sql_str(model.sdk_version),
            _sql_str(model.server),
            _sql_str(model.auth_kind if model.auth_kind != "none" else None),
            _sql_str(fingerprint(f"{provider}:{team}") if model.auth_kind != "none" else None),
            _sql_str(gateway),
            _sql_num(gw_share),
            _sql_str(gw_server),
            _sql_str(gw_auth),
            _sql_str(fingerprint(f"gateway:{gateway}") if gateway else None),
            _sql_str(gw_cost_source),
            _sql_num(stream),
            str(mean_in),
            str(mean_out),
            _sql_num(err),
            _sql_str(run),
            _sql_str(fb),
            _sql_num(fb_share),
            _sql_num(model.base_ms),
            _sql_num(model.ms_per_token),
            _sql_num(model.cache_share),
            _sql_num(model.reasoning_share),
            *(_sql_num(price) for price in per_million),
        ]
        rows.append("(" + ", ".join(values) + ")")
        low = high
    return ",\n".join(rows)


_MIX_COLUMNS = (
    "lo, hi, m_workflow, m_team, m_tier, m_model, m_provider, m_platform, m_operation, m_sdk, m_sdk_version, "
    "m_server, m_auth, m_key, m_gateway, m_gw_share, m_gw_server, m_gw_auth, m_gw_key, m_gw_cost_source, "
    "m_stream, m_in, m_out, m_err, m_run, m_fallback_from, m_fallback_share, m_base_ms, m_ms_per_token, "
    "m_cache_share, m_reasoning_share, p_in, p_out, p_cache_read"
)


def generate_calls(
    con: duckdb.DuckDBPyConnection,
    rows: int,
    *,
    start: datetime = DEFAULT_START,
    days: int = 28,
    offset: int = 0,
) -> None:
    """Insert `rows` synthetic calls (and their retry attempts) spread over `days` days from `start`.

    `offset` shifts the row numbers, so several batches can be appended without id clashes.
    """
    span_seconds = days * 86400
    outage_day = start + timedelta(days=int(days * OUTAGE_AT))
    outage_start = outage_day.replace(hour=14, minute=0, second=0, microsecond=0)
    con.execute(
        f"""
        INSERT INTO calls BY NAME
        WITH mix({_MIX_COLUMNS}) AS (VALUES {_mix_values(start)}),
        draws AS (
          SELECT i,
            (hash(i, 1) % 1000)::INTEGER AS bucket,
            $start::TIMESTAMPTZ + to_microseconds(
                (sqrt((hash(i, 2) % 1000003)::BIGINT / 1000003.0) * {span_seconds} * 1e6)::BIGINT) AS t,
            ((hash(i, 3) % 10007)::BIGINT + (hash(i, 4) % 10007)::BIGINT
              + (hash(i, 5) % 10007)::BIGINT + (hash(i, 6) % 10007)::BIGINT
              - 20014) / 10007.0 * 1.732 AS z_lat,
            ((hash(i, 7) % 10007)::BIGINT + (hash(i, 8) % 10007)::BIGINT + (hash(i, 9) % 10007)::BIGINT
              - 15010.5) / 10007.0 * 2 AS z_tok,
            (hash(i, 10) % 100003)::BIGINT / 100003.0 AS u_route,
            (hash(i, 11) % 100003)::BIGINT / 100003.0 AS u_stream,
            (hash(i, 12) % 100003)::BIGINT / 100003.0 AS u_err,
            (hash(i, 13) % 100003)::BIGINT / 100003.0 AS u_kind,
            (hash(i, 14) % 100003)::BIGINT / 100003.0 AS u_usage,
            (hash(i, 15) % 100003)::BIGINT / 100003.0 AS u_retry,
            (hash(i, 16) % 100003)::BIGINT / 100003.0 AS u_fallback,
            (hash(i, 17) % 100003)::BIGINT / 100003.0 AS u_noise
          FROM range({offset}, {offset + rows}) AS r(i)
        ),
        picked AS (
          SELECT d.*, m.*,
            CASE WHEN d.u_route < m.m_gw_share THEN 'gateway' ELSE 'direct' END AS v_route,
            d.u_stream < m.m_stream AS v_stream,
            m.m_provider = '{OUTAGE_PROVIDER}' AND d.t >= $outage_start
              AND d.t < $outage_start + INTERVAL '{int(OUTAGE_LENGTH.total_seconds())} seconds' AS v_outage
          FROM draws d JOIN mix m ON d.bucket >= m.lo AND d.bucket < m.hi
        ),
        shaped AS (
          SELECT *,
            u_err < CASE WHEN v_outage THEN 0.9 ELSE m_err END AS v_error,
            CASE WHEN u_kind < 0.45 THEN 429
                 WHEN u_kind < 0.85 THEN 500 + 2 * (hash(i, 18) % 2)::INTEGER + (u_kind > 0.7)::INTEGER
            END AS v_http_error,
            v_route = 'gateway' AND m_gateway = 'vercel' AND m_provider IN ('openai', 'google')
              AND u_noise < 0.03 AS v_gw_fallback
          FROM picked
        ),
        usage AS (
          SELECT *,
            NOT v_error AND NOT (v_stream AND u_usage < 0.05) AS v_usage_known,
            greatest(1, round(m_in * exp(0.6 * z_tok)))::BIGINT AS v_in,
            CASE WHEN m_out = 0 THEN 0
                 ELSE greatest(1, round(m_out * exp(0.5 * z_tok + 0.3 * z_lat / 2))) END::BIGINT AS v_out,
            CASE WHEN v_route = 'gateway' THEN 28 + 14 * u_noise ELSE 0 END AS v_gw_ms
          FROM shaped
        ),
        tokens AS (
          SELECT *,
            CASE WHEN v_usage_known THEN v_in END AS v_input,
            CASE WHEN v_usage_known THEN v_out END AS v_output,
            CASE WHEN v_usage_known THEN floor(v_in * m_cache_share * u_usage)::BIGINT END AS v_cache_read,
            CASE WHEN v_usage_known THEN floor(v_out * m_reasoning_share)::BIGINT END AS v_reasoning,
            CASE
              WHEN v_error AND v_http_error IS NULL THEN 30000 + 2000 * u_noise
              WHEN v_error THEN m_base_ms * 0.3 * exp(0.3 * z_lat) + v_gw_ms
              ELSE m_base_ms * exp(0.35 * z_lat) + v_out * m_ms_per_token + v_gw_ms
            END AS v_duration
          FROM usage
        ),
        priced AS (
          SELECT *,
            CASE WHEN v_usage_known AND p_in IS NOT NULL THEN
              ((v_input - v_cache_read) * p_in + v_cache_read * p_cache_read + v_output * p_out) / 1e6
            END AS v_cost
          FROM tokens
        )
        SELECT
          lower(lpad(to_hex(hash(i, 19)), 16, '0') || lpad(to_hex(i), 16, '0')) AS trace_id,
          lower(lpad(to_hex(i), 16, '0')) AS span_id,
          NULL AS parent_span_id,
          m_operation || ' ' || split_part(m_model, '/', 2) AS name,
          t AS start_time,
          t + to_microseconds((v_duration * 1000)::BIGINT) AS end_time,
          v_duration AS duration_ms,
          CASE WHEN v_stream AND NOT v_error THEN m_base_ms * 0.45 * exp(0.35 * z_lat) + v_gw_ms END
            AS ttft_ms,
          'modelmeter' AS source,
          CASE WHEN m_team = 'knowledge' THEN 'indexer' ELSE 'api' END AS service,
          'prod' AS environment,
          m_workflow AS workflow, m_team AS team, m_tier AS tier,
          CASE WHEN v_route = 'gateway' THEN 'gateway-pilot' ELSE m_run END AS run,
          v_route AS route,
          CASE WHEN v_route = 'gateway' THEN m_gateway END AS gateway,
          m_provider AS provider,
          CASE WHEN v_gw_fallback THEN (CASE m_provider WHEN 'openai' THEN 'azure' ELSE 'gcp.vertex_ai' END)
               ELSE m_platform END AS platform,
          m_operation AS operation,
          split_part(m_model, '/', 2) AS request_model,
          CASE WHEN v_error THEN NULL ELSE split_part(m_model, '/', 2) END AS response_model,
          m_model AS model,
          v_stream AS streaming,
          CASE WHEN v_error THEN 'error' ELSE 'ok' END AS status,
          CASE WHEN v_error THEN v_http_error ELSE 200 END AS http_status,
          CASE WHEN NOT v_error THEN NULL WHEN v_http_error IS NULL THEN 'timeout'
               ELSE v_http_error::VARCHAR END AS error_type,
          CASE WHEN v_error OR m_operation = 'embeddings' THEN NULL WHEN u_noise > 0.98 THEN 'length'
               ELSE 'stop' END AS finish_reason,
          v_stream AND NOT v_error AND u_retry > 0.99 AS truncated,
          v_usage_known AS usage_known,
          v_input AS input_tokens, v_output AS output_tokens,
          v_cache_read AS cache_read_tokens,
          CASE WHEN v_usage_known THEN 0 END AS cache_write_tokens,
          v_reasoning AS reasoning_tokens,
          v_cost::DECIMAL(18, 10) AS cost_usd,
          CASE WHEN v_cost IS NOT NULL THEN 'genai-prices' WHEN v_usage_known THEN 'unpriced' END
            AS cost_source,
          CASE WHEN v_route = 'gateway' AND v_cost IS NOT NULL THEN
            (CASE m_gateway WHEN 'openrouter' THEN v_cost * (1.02 + 0.02 * u_noise) ELSE v_cost END)
              ::DECIMAL(18, 10)
          END AS reported_cost_usd,
          CASE WHEN v_route = 'gateway' AND v_cost IS NOT NULL THEN m_gw_cost_source END
            AS reported_cost_source,
          CASE WHEN v_route = 'gateway' THEN m_gw_key ELSE m_key END AS key_fingerprint,
          CASE WHEN v_route = 'gateway' THEN m_gw_auth ELSE m_auth END AS auth_kind,
          m_sdk AS sdk, m_sdk_version AS sdk_version,
          CASE WHEN v_route = 'gateway' THEN m_gw_server ELSE m_server END AS server_address,
          CASE WHEN u_retry < 0.005 OR (v_outage AND u_retry < 0.3) THEN 3
               WHEN u_retry < 0.035 THEN 2 ELSE 1 END AS attempts,
          CASE WHEN m_fallback_from IS NOT NULL AND u_fallback < m_fallback_share THEN m_fallback_from END
            AS fallback_from,
          CASE WHEN v_gw_fallback THEN json_object('modelmeter.gateway.first_choice', m_provider)
               ELSE '{{}}' END::JSON AS attributes
        FROM priced
        """,
        {"start": start, "outage_start": outage_start},
    )
    con.execute(
        f"""
        INSERT INTO attempts BY NAME
        SELECT c.trace_id AS call_trace_id, c.span_id AS call_span_id, a AS attempt,
          c.trace_id AS trace_id, lower(lpad(to_hex(hash(c.span_id, a)), 16, '0')) AS span_id,
          c.start_time - to_microseconds(((c.attempts - a) * 400000)::BIGINT) AS start_time,
          CASE WHEN a = c.attempts - 1 THEN c.duration_ms ELSE 250 + (hash(c.span_id, a) % 500) END
            AS duration_ms,
          CASE WHEN a = c.attempts - 1 THEN c.status ELSE 'error' END AS status,
          CASE WHEN a = c.attempts - 1 THEN c.http_status
               WHEN hash(c.span_id, a) % 2 = 0 THEN 429 ELSE 503 END
            AS http_status,
          CASE WHEN a = c.attempts - 1 THEN c.error_type
               WHEN hash(c.span_id, a) % 2 = 0 THEN '429' ELSE '503' END
            AS error_type,
          c.model, c.platform
        FROM calls c, range(c.attempts) AS r(a)
        WHERE c.attempts > 1 AND c.span_id >= lower(lpad(to_hex({offset}), 16, '0'))
          AND c.span_id < lower(lpad(to_hex({offset + rows}), 16, '0'))
        """
    )


def create_database(
    path: str, rows: int, *, start: datetime = DEFAULT_START, days: int = 28
) -> duckdb.DuckDBPyConnection:
    """A new DuckDB file with the modelmeter schema and `rows` synthetic calls, left open."""
    from modelmeter.ingest.schema import MIGRATIONS

    con = duckdb.connect(path)
    con.execute("SET TimeZone = 'UTC'")
    for migration in MIGRATIONS:
        con.execute(migration)
    generate_calls(con, rows, start=start, days=days)
    return con
