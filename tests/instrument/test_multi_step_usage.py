"""Usage beyond plain tokens, through the real SDKs against the mock: thinking, compaction steps,
server-tool requests (Anthropic) and the tool-use prompt (Gemini), streamed and not.

The span's tokens equal the sum the mock billed, its cost equals genai-prices' price of that summed
usage, the compaction step's share is an attribute of its own, and fees we cannot price are named.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import anthropic
import orjson
import pytest
from genai_prices import Usage, calc_price
from google import genai
from google.genai import types as genai_types
from support.ingest import rows
from support.recorder import Recorder

import modelmeter
from modelmeter import semconv as sc
from modelmeter.ingest.pipeline import ingest_paths
from modelmeter.mock import MockProviders, MockUsage
from modelmeter.pricing import STORED_COST

MODEL = "claude-sonnet-4-5"
MESSAGES: Any = [{"role": "user", "content": "Summarise last week's AI spend by team and model."}]
STREAM = pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])


def anthropic_client(mock: MockProviders, keys: dict[str, str]) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=mock.base_url("anthropic"), api_key=keys["anthropic"], max_retries=0)


def send(client: anthropic.Anthropic, request: dict[str, Any], stream: bool, *, beta: bool = False) -> Any:
    """One Messages call, streamed or not; the final message either way."""
    messages: Any = client.beta.messages if beta else client.messages
    if not stream:
        return messages.create(**request)
    with messages.stream(**request) as events:
        return events.get_final_message()


def tokens_of(attrs: dict[str, Any]) -> MockUsage:
    return MockUsage(
        attrs[sc.MM_INPUT_TOKENS],
        attrs[sc.MM_OUTPUT_TOKENS],
        attrs[sc.MM_CACHE_READ_TOKENS],
        attrs[sc.MM_CACHE_WRITE_TOKENS],
        attrs[sc.MM_REASONING_TOKENS],
    )


def genai_prices_cost(model: str, provider: str, usage: MockUsage) -> Decimal:
    """genai-prices' own price for the summed usage (its input counts cache reads and writes)."""
    priced = Usage(
        input_tokens=usage.input_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        output_tokens=usage.output_tokens,
    )
    return calc_price(
        priced, model, provider_id=provider, genai_request_timestamp=datetime.now(UTC)
    ).total_price


@STREAM
def test_compaction_steps_are_summed_and_their_share_kept(
    mock: MockProviders, recorder: Recorder, fake_keys: dict[str, str], stream: bool
) -> None:
    client = anthropic_client(mock, fake_keys)
    request: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": 256,
        "messages": MESSAGES,
        "betas": ["compact-2026-01-12"],
        "context_management": {"edits": [{"type": "compact_20260112"}]},
    }
    final = send(client, request, stream, beta=True)
    served = mock.calls[-1]
    assert served.usage is not None and final.usage.iterations is not None
    compaction = final.usage.iterations[0]
    assert compaction.type == "compaction"
    # the top level describes the final step only: far below what the call billed
    assert final.usage.input_tokens < served.usage.input_tokens

    attrs = recorder.only()
    assert tokens_of(attrs) == served.usage
    assert attrs[sc.MM_COMPACTION_INPUT_TOKENS] == compaction.input_tokens
    assert attrs[sc.MM_COMPACTION_OUTPUT_TOKENS] == compaction.output_tokens
    cost = Decimal(attrs[sc.MM_COST_USD])
    assert cost == genai_prices_cost(MODEL, "anthropic", served.usage)
    share = Decimal(attrs[sc.MM_COMPACTION_COST_USD])
    compaction_usage = MockUsage(compaction.input_tokens, compaction.output_tokens)
    assert share == genai_prices_cost(MODEL, "anthropic", compaction_usage) and 0 < share < cost


@STREAM
def test_thinking_tokens_are_reasoning_inside_output(
    mock: MockProviders, recorder: Recorder, fake_keys: dict[str, str], stream: bool
) -> None:
    client = anthropic_client(mock, fake_keys)
    request: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": 2048,
        "messages": MESSAGES,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
    }
    final = send(client, request, stream)
    assert final.usage.output_tokens_details is not None
    thinking = final.usage.output_tokens_details.thinking_tokens
    attrs = recorder.only()
    assert attrs[sc.MM_REASONING_TOKENS] == thinking == mock.calls[-1].usage.reasoning_tokens  # type: ignore[union-attr]
    assert 0 < thinking < attrs[sc.MM_OUTPUT_TOKENS] == final.usage.output_tokens


@STREAM
def test_server_tool_requests_are_counted_and_unpriced_fees_named(
    mock: MockProviders, recorder: Recorder, fake_keys: dict[str, str], stream: bool
) -> None:
    client = anthropic_client(mock, fake_keys)
    request: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": 256,
        "messages": MESSAGES,
        "tools": [
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 3},
            {"type": "web_fetch_20250910", "name": "web_fetch", "max_uses": 3},
        ],
    }
    final = send(client, request, stream)
    assert final.usage.server_tool_use is not None
    attrs = recorder.only()
    assert (
        attrs[sc.MM_SERVER_TOOL_PREFIX + "web_search_requests"]
        == final.usage.server_tool_use.web_search_requests
    )
    assert (
        attrs[sc.MM_SERVER_TOOL_PREFIX + "web_fetch_requests"]
        == final.usage.server_tool_use.web_fetch_requests
    )
    served = mock.calls[-1].usage
    assert served is not None
    searches = final.usage.server_tool_use.web_search_requests
    priced = Usage(
        input_tokens=served.input_tokens,
        cache_read_tokens=served.cache_read_tokens,
        cache_write_tokens=served.cache_write_tokens,
        output_tokens=served.output_tokens,
        web_searches=searches,
    )
    expected = calc_price(priced, MODEL, provider_id="anthropic").total_price
    assert Decimal(attrs[sc.MM_COST_USD]) == expected  # web search is priced per request
    assert attrs[sc.MM_COST_EXCLUDES] == "web_fetch_requests"  # genai-prices has no fetch fee


@STREAM
def test_gemini_tool_use_prompt_counts_as_input(
    mock: MockProviders, recorder: Recorder, fake_keys: dict[str, str], stream: bool
) -> None:
    options = genai_types.HttpOptions(base_url=mock.base_url("gemini"))
    client = genai.Client(api_key=fake_keys["gemini"], http_options=options)
    config = genai_types.GenerateContentConfig(
        tools=[genai_types.Tool(google_search=genai_types.GoogleSearch())]
    )
    model = "gemini-2.5-flash"
    if stream:
        chunks = list(client.models.generate_content_stream(model=model, contents="hello", config=config))
        metadata = chunks[-1].usage_metadata
    else:
        metadata = client.models.generate_content(model=model, contents="hello", config=config).usage_metadata
    assert metadata is not None and metadata.tool_use_prompt_token_count
    attrs = recorder.only()
    assert attrs[sc.MM_TOOL_USE_PROMPT_TOKENS] == metadata.tool_use_prompt_token_count
    assert attrs[sc.MM_INPUT_TOKENS] == metadata.prompt_token_count + metadata.tool_use_prompt_token_count
    assert tokens_of(attrs) == mock.calls[-1].usage


def test_ingest_stores_the_cost_with_its_request_fees_and_the_compaction_share(
    mock: MockProviders, fake_keys: dict[str, str], tmp_path: Path
) -> None:
    """The spool record says the fees apart; ingest's own estimate keeps them in `cost_usd`."""
    spool = tmp_path / "spool"
    modelmeter.instrument(spool=str(spool), endpoints=mock.endpoints)
    try:
        anthropic_client(mock, fake_keys).beta.messages.create(
            model=MODEL,
            max_tokens=256,
            messages=MESSAGES,
            betas=["compact-2026-01-12"],
            context_management={"edits": [{"type": "compact_20260112"}]},
            tools=[{"type": "web_search_20250305", "name": "web_search", "max_uses": 2}],
        )
        assert modelmeter.flush()
    finally:
        modelmeter.uninstrument()
    (record,) = [
        orjson.loads(line) for path in spool.glob("*.ndjson") for line in path.read_bytes().splitlines()
    ]
    fees = Decimal(record["attributes"][sc.MM_COST_FEES_USD])
    assert fees == Decimal("0.01")  # one search at $10 per 1,000
    db = tmp_path / "calls.duckdb"
    ingest_paths([spool], db, prices_path=tmp_path / "no-overrides.toml")
    ((stored, tokens, compaction),) = rows(
        db,
        "SELECT cost_usd, input_tokens, json_extract_string(attributes, "
        f"'$.\"{sc.MM_COMPACTION_INPUT_TOKENS}\"') FROM calls",
    )
    assert stored == Decimal(record["cost_usd"]).quantize(STORED_COST, ROUND_HALF_UP) > fees
    assert tokens == mock.calls[-1].usage.input_tokens  # type: ignore[union-attr]
    assert int(compaction) == mock.calls[-1].wire_usage["iterations"][0]["input_tokens"]  # type: ignore[index]
