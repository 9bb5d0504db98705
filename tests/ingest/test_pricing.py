"""Cost estimates: the per-call reference, the columnar ingest path and `reprice` all agree with
genai-prices' own calc_price (expected values are computed here by calling it, never copied)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from genai_prices import Usage, calc_price
from genai_prices.types import ModelPrice
from support.ingest import record, rows, run_cli, write_ndjson

from modelmeter import pricing
from modelmeter.ingest.pipeline import ingest_paths
from modelmeter.ingest.pricing import load_overrides

STORED = Decimal("1E-10")


@dataclass
class Case:
    name: str
    when: datetime
    values: dict[str, Any]  # record columns
    genai_provider: str
    genai_model: str
    usage: dict[str, int]
    context: dict[str, str] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        tokens = {
            "input_tokens": self.usage.get("input_tokens"),
            "output_tokens": self.usage.get("output_tokens"),
            "cache_read_tokens": self.usage.get("cache_read_tokens"),
            "cache_write_tokens": self.usage.get("cache_write_tokens"),
            "reasoning_tokens": self.usage.get("output_reasoning_tokens"),
        }
        start_ns = int(self.when.timestamp()) * 10**9
        return record(start_ns=start_ns, **tokens, **self.values)

    def expected(self) -> Decimal:
        return calc_price(
            Usage(**self.usage),
            self.genai_model,
            provider_id=self.genai_provider,
            genai_request_timestamp=self.when,
            price_context=self.context or None,
        ).total_price


def _anthropic(model: str, **extra: Any) -> dict[str, Any]:
    return {
        "provider": "anthropic",
        "platform": "anthropic",
        "request_model": model,
        "response_model": model,
        **extra,
    }


def _vendor(vendor: str, model: str, **extra: Any) -> dict[str, Any]:
    return {"provider": vendor, "platform": vendor, "request_model": model, "response_model": model, **extra}


MARCH = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
NOVEMBER = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)  # OpenAI's tier and batch prices apply from October
CASES = [
    Case(
        "anthropic cache write and read",
        MARCH,
        _anthropic("claude-sonnet-4-5-20250929"),
        "anthropic",
        "claude-sonnet-4-5-20250929",
        {
            "input_tokens": 20_000,
            "output_tokens": 800,
            "cache_read_tokens": 12_000,
            "cache_write_tokens": 5_000,
        },
    ),
    Case(
        "openai cached input plus reasoning",
        MARCH,
        _vendor("openai", "gpt-5"),
        "openai",
        "gpt-5",
        {
            "input_tokens": 30_000,
            "cache_read_tokens": 20_000,
            "output_tokens": 6_000,
            "output_reasoning_tokens": 4_000,
        },
    ),
    Case(
        "openai flex service tier",
        NOVEMBER,
        _vendor("openai", "gpt-5", service_tier="flex"),
        "openai",
        "gpt-5",
        {"input_tokens": 5_000, "output_tokens": 1_000},
        {"service_tier": "flex"},
    ),
    Case(
        "openai batch job",
        NOVEMBER,
        _vendor("openai", "gpt-5", attributes={"modelmeter.batch": True}),
        "openai",
        "gpt-5",
        {"input_tokens": 5_000, "output_tokens": 1_000},
        {"processing": "batch"},
    ),
    Case(
        "gemini just below the 200k tier",
        MARCH,
        _vendor("google", "gemini-2.5-pro"),
        "google",
        "gemini-2.5-pro",
        {"input_tokens": 200_000, "output_tokens": 2_000},
    ),
    Case(
        "gemini above the 200k tier",
        MARCH,
        _vendor("google", "gemini-2.5-pro"),
        "google",
        "gemini-2.5-pro",
        {"input_tokens": 250_000, "output_tokens": 2_000},
    ),
    Case(
        "price before a dated change",
        datetime(2026, 2, 1, 9, 0, tzinfo=UTC),
        _anthropic("claude-sonnet-4-6"),
        "anthropic",
        "claude-sonnet-4-6",
        {"input_tokens": 300_000, "output_tokens": 1_000},
    ),
    Case(
        "price after a dated change",
        datetime(2026, 4, 1, 9, 0, tzinfo=UTC),
        _anthropic("claude-sonnet-4-6"),
        "anthropic",
        "claude-sonnet-4-6",
        {"input_tokens": 300_000, "output_tokens": 1_000},
    ),
    Case(
        "deepseek off-peak hours",
        datetime(2026, 3, 2, 18, 0, tzinfo=UTC),
        _vendor("deepseek", "deepseek-chat"),
        "deepseek",
        "deepseek-chat",
        {"input_tokens": 40_000, "output_tokens": 3_000},
    ),
    Case(
        "deepseek peak hours",
        datetime(2026, 3, 2, 3, 0, tzinfo=UTC),
        _vendor("deepseek", "deepseek-chat"),
        "deepseek",
        "deepseek-chat",
        {"input_tokens": 40_000, "output_tokens": 3_000},
    ),
    Case(
        "a gateway model name priced as the vendor's model",
        MARCH,
        {
            "provider": "anthropic",
            "platform": None,
            "route": "gateway",
            "gateway": "vercel",
            "request_model": "anthropic/claude-sonnet-4.5",
            "response_model": "anthropic/claude-sonnet-4.5",
        },
        "anthropic",
        "claude-sonnet-4-5",
        {"input_tokens": 9_000, "output_tokens": 700},
    ),
]


def _key(row: dict[str, Any]) -> pricing.PriceKey:
    batch = bool((row.get("attributes") or {}).get("modelmeter.batch"))
    return pricing.PriceKey(
        *(row.get(name) or "" for name in pricing.PRICE_KEY_COLUMNS if name != "batch"), batch=batch
    )


def _usage(row: dict[str, Any]) -> pricing.CallUsage:
    return pricing.CallUsage(
        row["input_tokens"],
        row["output_tokens"],
        row["cache_read_tokens"],
        row["cache_write_tokens"],
        row["reasoning_tokens"],
    )


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_price_call_equals_genai_prices_calc_price(case: Case) -> None:
    row = case.record()
    priced = pricing.price_call(_key(row), _usage(row), case.when, [])
    assert priced.cost_source == "genai-prices"
    assert priced.cost_usd == case.expected()


def test_cliff_tiers_dates_and_hours_change_the_price() -> None:
    by_name = {c.name: c.expected() for c in CASES}
    assert by_name["price before a dated change"] != by_name["price after a dated change"]
    assert by_name["deepseek off-peak hours"] != by_name["deepseek peak hours"]
    batch = next(c for c in CASES if c.name == "openai batch job")
    standard = calc_price(
        Usage(**batch.usage), "gpt-5", provider_id="openai", genai_request_timestamp=batch.when
    )
    assert by_name["openai batch job"] < standard.total_price
    per_token_below = by_name["gemini just below the 200k tier"] / 200_000
    assert by_name["gemini above the 200k tier"] / 250_000 > per_token_below


def test_ingest_stores_exactly_the_calc_price_of_every_case(tmp_path: Path) -> None:
    records = [case.record() for case in CASES]
    spool = write_ndjson(tmp_path / "spool" / "spans-1.ndjson", records)
    ingest_paths([spool.parent], tmp_path / "db.duckdb", prices_path=tmp_path / "none.toml")
    stored = dict(
        (span_id, (cost, source))
        for span_id, cost, source in rows(
            tmp_path / "db.duckdb", "SELECT span_id, cost_usd, cost_source FROM calls"
        )
    )
    for case, row in zip(CASES, records, strict=True):
        assert stored[row["span_id"]] == (case.expected().quantize(STORED, ROUND_HALF_UP), "genai-prices"), (
            case.name
        )


PRICES_TOML = """
[[override]]
provider = "openai"
model = "gpt-4o*"
start = 2026-01-01
end = 2026-02-01
multiplier = 0.8

[[override]]
provider = "*"
model = "acme-ft-*"
input_mtok = 1.25
output_mtok = 5
"""


def _override_records() -> list[dict[str, Any]]:
    jan = int(datetime(2026, 1, 15, tzinfo=UTC).timestamp()) * 10**9
    feb = int(datetime(2026, 2, 15, tzinfo=UTC).timestamp()) * 10**9
    return [
        record(start_ns=jan, input_tokens=10_000, output_tokens=2_000),  # discounted
        record(start_ns=feb, input_tokens=10_000, output_tokens=2_000),  # after the discount ended
        record(
            start_ns=jan,
            provider="acme",
            platform="acme",
            request_model="acme-ft-support-v2",
            response_model=None,
        ),
        record(
            start_ns=jan, provider="acme", platform="acme", request_model="acme-llm-7b", response_model=None
        ),
        record(start_ns=jan, usage_known=False, input_tokens=None, output_tokens=None),
    ]


def test_overrides_discount_custom_prices_and_unpriced_models(tmp_path: Path) -> None:
    prices = tmp_path / "prices.toml"
    prices.write_text(PRICES_TOML)
    discounted, full, custom, unknown, no_usage = _override_records()
    write_ndjson(tmp_path / "spool" / "spans-1.ndjson", [discounted, full, custom, unknown, no_usage])
    ingest_paths([tmp_path / "spool"], tmp_path / "db.duckdb", prices_path=prices)
    stored = {
        r[0]: r[1:] for r in rows(tmp_path / "db.duckdb", "SELECT span_id, cost_usd, cost_source FROM calls")
    }

    jan, feb = (datetime.fromtimestamp(r["start_ns"] / 1e9, UTC) for r in (discounted, full))
    list_price = calc_price(
        Usage(input_tokens=10_000, output_tokens=2_000),
        "gpt-4o-2024-08-06",
        provider_id="openai",
        genai_request_timestamp=jan,
    )
    assert stored[discounted["span_id"]] == (
        (list_price.total_price * Decimal("0.8")).quantize(STORED),
        "override",
    )
    feb_price = calc_price(
        Usage(input_tokens=10_000, output_tokens=2_000),
        "gpt-4o-2024-08-06",
        provider_id="openai",
        genai_request_timestamp=feb,
    )
    assert stored[full["span_id"]] == (feb_price.total_price.quantize(STORED), "genai-prices")
    explicit = ModelPrice(input_mtok=Decimal("1.25"), output_mtok=Decimal("5")).calc_price(
        Usage(input_tokens=1200, output_tokens=300)
    )
    assert stored[custom["span_id"]] == (explicit["total_price"].quantize(STORED), "override")
    assert stored[unknown["span_id"]] == (None, "unpriced")
    assert stored[no_usage["span_id"]] == (None, "unpriced")


def test_reprice_applies_new_overrides_and_agrees_with_price_call(tmp_path: Path) -> None:
    records = [case.record() for case in CASES] + _override_records()
    write_ndjson(tmp_path / "spool" / "spans-1.ndjson", records)
    db = tmp_path / "db.duckdb"
    ingest_paths([tmp_path / "spool"], db, prices_path=tmp_path / "none.toml")
    before = dict(rows(db, "SELECT span_id, cost_source FROM calls"))
    prices = tmp_path / "prices.toml"
    prices.write_text(PRICES_TOML)

    result = run_cli("reprice", "--db", str(db), "--prices", str(prices))

    assert result.returncode == 0, result.stderr
    overrides = load_overrides(prices)
    stored = {r[0]: r[1:] for r in rows(db, "SELECT span_id, cost_usd, cost_source, price_period FROM calls")}
    for row in records:
        when = datetime.fromtimestamp(row["start_ns"] // 1000 / 1e6, UTC)
        reference = pricing.price_call(_key(row), _usage(row), when, overrides)
        assert stored[row["span_id"]] == (reference.stored(), reference.cost_source, reference.price_period)
    changed = [r["span_id"] for r in records if before[r["span_id"]] != stored[r["span_id"]][1]]
    assert changed, "the new overrides changed where some estimates come from"
