"""Pydantic Logfire's openai and anthropic instrumentation, run for real against the mock."""

from __future__ import annotations

from pathlib import Path

from foreign.harness import Truth, assert_calls_match, capture, ingest

from modelmeter.ingest.normalise import SpanIn, logfire
from modelmeter.mock import MockProviders


def test_logfire_spans_match_the_mock_and_a_stream_counts_once(mock: MockProviders, tmp_path: Path) -> None:
    rows = ingest(capture("logfire", mock, tmp_path / "logfire.pb"), tmp_path / "calls.duckdb")
    served = [Truth.of(c) for c in mock.calls]

    assert [t.streaming for t in served] == [False, True, False, True]
    assert_calls_match(
        rows,
        served,
        source="logfire",
        # Anthropic reports no separate thinking count; Logfire records no time to first token.
        lacks=lambda truth: {"reasoning_tokens"} if truth.provider == "anthropic" else set(),
        ttft=lambda _truth: None,
    )


def _pydantic_ai_span(operation: str, **attributes: object) -> SpanIn:
    """Synthetic: pydantic-ai's span shape (spec, section 2.3): its own provider names, TTFT in seconds."""
    return SpanIn(
        trace_id="c" * 32,
        span_id="d" * 16,
        parent_span_id=None,
        name=f"{operation} gemini-2.5-flash",
        kind=3,
        start_ns=1_700_000_000_000_000_000,
        end_ns=1_700_000_001_000_000_000,
        status_code=0,
        status_message=None,
        attributes={
            "gen_ai.operation.name": operation,
            "gen_ai.provider.name": "google-gla",
            "gen_ai.system": "google-gla",
            "gen_ai.request.model": "gemini-2.5-flash",
            "gen_ai.usage.input_tokens": 2000,
            "gen_ai.usage.output_tokens": 300,
            "gen_ai.usage.details.reasoning_tokens": 200,
            **attributes,
        },
        scope_name="pydantic-ai",
    )


def test_pydantic_ai_chat_span_is_a_call_with_its_provider_normalised() -> None:
    record = logfire.to_record(
        _pydantic_ai_span("chat", **{"gen_ai.client.operation.time_to_first_chunk": 0.25})
    )
    assert record is not None
    assert (record["source"], record["provider"], record["platform"], record["model"]) == (
        "pydantic-ai",
        "google",
        "gcp.gemini",
        "google/gemini-2.5-flash",
    )
    assert (record["reasoning_tokens"], record["streaming"], record["ttft_ms"]) == (200, True, 250.0)


def test_pydantic_ai_agent_run_span_repeats_usage_and_is_not_a_call() -> None:
    assert logfire.to_record(_pydantic_ai_span("invoke_agent")) is None
