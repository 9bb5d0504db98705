"""The shim's estimate and ingest's are one price: the same call, priced in the app and again at ingest."""

from __future__ import annotations

from collections.abc import Awaitable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import openai
import orjson
import pytest
from support.ingest import rows
from support.recorder import Recorder
from support.sdk_calls import CASES, _openai_compatible

import modelmeter
from modelmeter import semconv as sc
from modelmeter.ingest.pipeline import ingest_paths
from modelmeter.instrument.pricing import estimate_call
from modelmeter.mock import MockProviders
from modelmeter.pricing import PRICE_KEY_COLUMNS, STORED_COST, CallUsage, PriceKey, estimate


@pytest.mark.parametrize(
    ("name", "stream"),
    [
        pytest.param(name, stream, id=f"{name}-{'sse' if stream else 'json'}")
        for name, case in CASES.items()
        for stream in ((False, True) if case.streams else (False,))
    ],
)
async def test_the_shims_estimate_is_what_ingest_stores_for_the_call(
    mock: MockProviders, fake_keys: dict[str, str], tmp_path: Path, name: str, stream: bool
) -> None:
    record, db = await _spooled_and_ingested(mock, tmp_path, CASES[name].run(mock, fake_keys, stream, False))
    ((stored, source),) = rows(db, "SELECT cost_usd, cost_source FROM calls")

    assert stored is not None, "every mock model has a genai-prices price"
    assert (record["cost_source"], Decimal(record["cost_usd"]).quantize(STORED_COST, ROUND_HALF_UP)) == (
        source,
        stored,
    )


@pytest.mark.parametrize("name", list(CASES))
async def test_a_span_priced_from_its_own_attributes_costs_what_it_says(
    recorder: Recorder, mock: MockProviders, fake_keys: dict[str, str], name: str
) -> None:
    """`estimate_call` reads the price key and usage from the attributes as ingest reads a record."""
    await CASES[name].run(mock, fake_keys, False, False)
    (span,) = recorder.spans()
    attributes = dict(span.attributes or {})
    assert span.start_time is not None
    assert estimate_call(attributes, span.start_time) == Decimal(attributes[sc.MM_COST_USD])


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_the_service_tier_decides_the_price_in_the_shim_as_at_ingest(
    mock: MockProviders, fake_keys: dict[str, str], tmp_path: Path, stream: bool
) -> None:
    """A flex call costs flex rates in the span and in the database, not the default tier's."""
    client = openai.AsyncOpenAI(base_url=mock.base_url("openai"), api_key=fake_keys["openai"], max_retries=0)
    record, db = await _spooled_and_ingested(
        mock, tmp_path, _openai_compatible(client, "gpt-5-mini", stream, service_tier="flex")
    )
    ((stored, tier),) = rows(db, "SELECT cost_usd, service_tier FROM calls")

    assert tier == "flex"
    shim = Decimal(record["cost_usd"])
    assert shim.quantize(STORED_COST, ROUND_HALF_UP) == stored
    key = PriceKey(*(record.get(name) or "" for name in PRICE_KEY_COLUMNS[:-1]), False)
    usage = CallUsage(record["input_tokens"], record["output_tokens"], record.get("cache_read_tokens"))
    assert estimate(key, usage, record["start_ns"]) == shim
    default = estimate(key._replace(service_tier=""), usage, record["start_ns"])
    assert default is not None and shim < default


async def _spooled_and_ingested(
    mock: MockProviders, tmp_path: Path, call: Awaitable[object]
) -> tuple[dict[str, Any], Path]:
    """Make one call through the shim into a spool, ingest the spool: (the spooled record, the database)."""
    spool = tmp_path / "spool"
    modelmeter.instrument(spool=str(spool), endpoints=mock.endpoints)
    try:
        await call
        assert modelmeter.flush()
    finally:
        modelmeter.uninstrument()
    (record,) = [
        orjson.loads(line) for path in spool.glob("*.ndjson") for line in path.read_bytes().splitlines()
    ]
    db = tmp_path / "calls.duckdb"
    ingest_paths([spool], db, prices_path=tmp_path / "no-overrides.toml")
    return record, db
