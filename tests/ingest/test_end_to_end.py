"""End to end: the real SDKs through the real shim against the mock providers, the spool it wrote,
then the real `modelmeter ingest`: each logical call exactly once, retries folded, priced."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from anthropic import Anthropic
from genai_prices import Usage, calc_price
from openai import OpenAI
from support.ingest import rows, run_cli

import modelmeter
from modelmeter.mock import MockProviders

STORED = Decimal("1E-10")


def test_spooled_calls_of_the_real_shim_are_ingested_once_each_and_priced(
    mock: MockProviders, fake_keys: dict[str, str], tmp_path: Path
) -> None:
    spool, db = tmp_path / "spool", tmp_path / "db.duckdb"
    message: Any = [{"role": "user", "content": "hi"}]
    modelmeter.instrument(spool=str(spool), endpoints=mock.endpoints)
    try:
        openai = OpenAI(base_url=mock.base_url("openai"), api_key=fake_keys["openai"], max_retries=2)
        anthropic = Anthropic(base_url=mock.base_url("anthropic"), api_key=fake_keys["anthropic"])
        openai.chat.completions.create(model="gpt-4o-mini", messages=message)
        retried_headers = {"x-mock-fault": "500", "x-mock-fail_times": "1", "x-mock-retry_after": "0.01"}
        openai.chat.completions.create(model="gpt-4o-mini", messages=message, extra_headers=retried_headers)
        anthropic.messages.create(model="claude-sonnet-4-6", max_tokens=64, messages=message)
        modelmeter.flush()
    finally:
        modelmeter.uninstrument()

    first = run_cli("ingest", str(spool), "--db", str(db))
    again = run_cli("ingest", str(spool), "--db", str(db))

    assert first.returncode == 0, first.stderr
    assert again.returncode == 0 and "calls added 0" in again.stderr
    served_ok = [c for c in mock.calls if c.http_status == 200]
    stored = rows(
        db,
        "SELECT request_model, attempts, status, input_tokens, output_tokens, cost_usd, cost_source, "
        "start_time FROM calls ORDER BY start_time",
    )
    assert [(r[0], r[1], r[2]) for r in stored] == [
        ("gpt-4o-mini", 1, "ok"),
        ("gpt-4o-mini", 2, "ok"),
        ("claude-sonnet-4-6", 1, "ok"),
    ]
    assert rows(db, "SELECT count(*) FROM attempts") == [(2,)]
    for row, served in zip(stored, served_ok, strict=True):
        assert served.usage is not None
        assert (row[3], row[4]) == (served.usage.input_tokens, served.usage.output_tokens)
        usage = Usage(
            input_tokens=served.usage.input_tokens,
            output_tokens=served.usage.output_tokens,
            cache_read_tokens=served.usage.cache_read_tokens or None,
            cache_write_tokens=served.usage.cache_write_tokens or None,
        )
        expected = calc_price(
            usage, served.response_model, provider_id=served.provider, genai_request_timestamp=row[7]
        )
        assert (row[5], row[6]) == (expected.total_price.quantize(STORED, ROUND_HALF_UP), "genai-prices")
