"""The anthropic SDK's own tracing against the mock: input already includes cache, TTFT is in seconds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from foreign.harness import Truth, assert_calls_match, capture, ingest

from modelmeter import semconv as sc
from modelmeter.mock import MockProviders


def test_anthropic_sdk_spans_match_the_mock_with_cache_writes_and_reads(
    mock: MockProviders, tmp_path: Path
) -> None:
    rows = ingest(capture("anthropic-sdk", mock, tmp_path / "anthropic.pb"), tmp_path / "calls.duckdb")
    served = [Truth.of(c) for c in mock.calls]

    writes = [t.usage["cache_write_tokens"] > 0 for t in served]
    assert writes == [True, False]  # the scenario writes the cache, then reads it
    assert_calls_match(
        rows,
        served,
        source="anthropic-sdk",
        # Anthropic reports no separate thinking count: unknown, not 0.
        lacks=lambda _truth: {"reasoning_tokens"},
    )
    assert [r["request_id"] for r in rows] == [c.request_id for c in mock.calls]
    assert {(r["platform"], r["sdk"]) for r in rows} == {("anthropic", "anthropic")}


def test_anthropic_sdk_span_over_our_own_span_counts_once_as_ours(
    mock: MockProviders, tmp_path: Path
) -> None:
    """The SDK's span and our shim's child span of the same request, in one OTLP file and in the spool."""
    otlp = capture("anthropic-sdk+modelmeter", mock, tmp_path / "layers.pb")
    db = tmp_path / "calls.duckdb"

    from_otlp = ingest(otlp, db)
    after_spool = ingest(otlp.with_suffix(".spool"), db, cli=True)

    served = [Truth.of(c) for c in mock.calls]
    assert len(from_otlp) == len(after_spool) == len(served) == 2
    assert {r["source"] for r in after_spool} == {"modelmeter"}
    assert [(r["trace_id"], r["span_id"]) for r in after_spool] == [
        (r["trace_id"], r["span_id"]) for r in from_otlp
    ]
    for row, truth in zip(after_spool, served, strict=True):
        assert {k: row[k] for k in truth.usage} == truth.usage


def test_anthropic_sdk_through_the_vercel_gateway_is_a_gateway_call(
    mock: MockProviders, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SDK's `url.full` names the endpoint; the endpoint table says it is the Vercel AI Gateway."""
    monkeypatch.setenv("MODELMETER_ENDPOINTS", mock.endpoints)
    rows = ingest(capture("anthropic-sdk-vercel", mock, tmp_path / "vercel.pb"), tmp_path / "calls.duckdb")

    (served,) = mock.calls
    (row,) = rows
    assert served.usage is not None
    assert (row["route"], row["gateway"], row["provider"], row["model"]) == (
        "gateway",
        "vercel",
        "anthropic",
        "anthropic/claude-sonnet-4.5",
    )
    assert (row["input_tokens"], row["output_tokens"]) == (
        served.usage.input_tokens,
        served.usage.output_tokens,
    )


def test_anthropic_sdk_spans_of_a_compacting_request_count_every_step_and_thinking(
    mock: MockProviders, tmp_path: Path
) -> None:
    """The SDK writes the compaction steps apart from its `gen_ai` usage; the row is their sum."""
    rows = ingest(
        capture("anthropic-sdk-compaction", mock, tmp_path / "compaction.pb"), tmp_path / "calls.duckdb"
    )
    served = mock.calls
    assert len(rows) == len(served) == 2 and [r["streaming"] for r in rows] == [False, True]
    for row, call in zip(rows, served, strict=True):
        assert call.usage is not None and call.wire_usage is not None
        (compaction, _final) = call.wire_usage["iterations"]
        assert (row["input_tokens"], row["output_tokens"]) == (
            call.usage.input_tokens,
            call.usage.output_tokens,
        )
        assert row["reasoning_tokens"] == call.usage.reasoning_tokens > 0
        attributes = row["attributes"]
        attributes = json.loads(attributes) if isinstance(attributes, str) else attributes
        assert attributes[sc.MM_COMPACTION_INPUT_TOKENS] == compaction["input_tokens"]
        assert attributes[sc.MM_COMPACTION_OUTPUT_TOKENS] == compaction["output_tokens"]
