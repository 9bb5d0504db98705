"""OpenInference's openai instrumentor (Arize Phoenix), run for real against the mock."""

from __future__ import annotations

from pathlib import Path

from foreign.harness import Truth, assert_calls_match, capture, ingest

from modelmeter.ingest.normalise import SpanIn, openinference
from modelmeter.mock import MockProviders


def test_openinference_llm_spans_match_the_mock(mock: MockProviders, tmp_path: Path) -> None:
    rows = ingest(capture("openinference", mock, tmp_path / "openinference.pb"), tmp_path / "calls.duckdb")

    assert_calls_match(
        rows,
        [Truth.of(c) for c in mock.calls],
        source="openinference",
        # OpenInference records neither the response id nor a time to first token.
        lacks=lambda _truth: {"response_id"},
        ttft=lambda _truth: None,
    )


def _span(kind: str) -> SpanIn:
    """Synthetic: attribute shape from the OpenInference conventions (spec, section 2.5)."""
    return SpanIn(
        trace_id="a" * 32,
        span_id="b" * 16,
        parent_span_id=None,
        name="span",
        kind=1,
        start_ns=1,
        end_ns=2,
        status_code=0,
        status_message=None,
        attributes={
            "openinference.span.kind": kind,
            "llm.provider": "anthropic",
            "llm.model_name": "claude-3-5-haiku-20241022",
            "llm.token_count.prompt": 300,
            "llm.token_count.completion": 20,
            "llm.token_count.prompt_details.cache_write": 256,
        },
        scope_name="openinference.instrumentation.anthropic",
    )


def test_openinference_chain_and_agent_spans_are_not_calls() -> None:
    assert openinference.to_record(_span("CHAIN")) is None
    assert openinference.to_record(_span("AGENT")) is None


def test_openinference_anthropic_span_gets_the_canonical_model_and_cache_write() -> None:
    record = openinference.to_record(_span("LLM"))
    assert record is not None
    assert (record["model"], record["provider"], record["platform"]) == (
        "anthropic/claude-3.5-haiku",
        "anthropic",
        "anthropic",
    )
    assert (record["input_tokens"], record["cache_write_tokens"], record["reasoning_tokens"]) == (
        300,
        256,
        None,
    )
