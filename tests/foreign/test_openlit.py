"""OpenLIT, replayed from a real capture (tests/foreign/capture_openlit.py; OpenLIT pins openai<3).

The fixture holds the OTLP payload OpenLIT 1.45.0 exported for calls to modelmeter.mock, and the mock's
truth for those calls, both written by the generator in one run.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from foreign.harness import FIRST_CHUNK, HERE, Truth, assert_calls_match, ingest

FIXTURE = HERE / "fixtures" / "openlit-1.45.0.pb"
TRUTH = HERE / "fixtures" / "openlit-1.45.0.truth.json"


@pytest.fixture(scope="module")
def openlit_calls(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]], list[Truth]]:
    """The fixture ingested once for this module: (calls rows, the mock's truth)."""
    rows = ingest(FIXTURE, tmp_path_factory.mktemp("openlit") / "calls.duckdb")
    return rows, [Truth.from_json(item) for item in json.loads(TRUTH.read_text())]


def test_openlit_spans_match_the_mock_once_each(
    openlit_calls: tuple[list[dict[str, Any]], list[Truth]],
) -> None:
    rows, served = openlit_calls
    assert_calls_match(
        rows,
        served,
        source="openlit",
        # OpenLIT 1.45 writes no reasoning count for these calls, and its time to first token is the time
        # to the first stream chunk of any kind.
        lacks=lambda _truth: {"reasoning_tokens"},
        ttft=lambda _truth: FIRST_CHUNK,
    )
    streamed = [r for r in rows if r["streaming"]]
    assert len(streamed) == 2
    for row in streamed:  # seconds on the span, milliseconds in the column
        assert row["ttft_ms"] == row["attributes"]["gen_ai.server.time_to_first_token"] * 1000


def test_openlit_anthropic_input_gets_its_cache_tokens_added_back(
    openlit_calls: tuple[list[dict[str, Any]], list[Truth]],
) -> None:
    rows, _served = openlit_calls
    anthropic = [r for r in rows if r["provider"] == "anthropic"]
    assert len(anthropic) == 2
    for row in anthropic:
        raw_input = row["attributes"]["gen_ai.usage.input_tokens"]
        cache = row["cache_read_tokens"] + row["cache_write_tokens"]
        assert cache > 0 and raw_input + cache == row["input_tokens"]
