"""OpenLLMetry's openai instrumentation, run for real against the mock, lands as one call per request."""

from __future__ import annotations

from pathlib import Path

import pytest
from foreign.capture import SECRET_WORD
from foreign.harness import TOKEN_COLUMNS, Truth, assert_calls_match, capture, ingest

from modelmeter.ingest.normalise import SpanIn, openllmetry
from modelmeter.mock import MockProviders


def test_openllmetry_spans_match_the_mock_once_each_with_httpx2_spans_ignored(
    mock: MockProviders, tmp_path: Path
) -> None:
    otlp = capture("openllmetry", mock, tmp_path / "openllmetry.pb")
    assert SECRET_WORD.encode() in otlp.read_bytes()  # OpenLLMetry records prompts by default ...
    rows = ingest(otlp, tmp_path / "calls.duckdb")  # ... and ingest checks none reached the database

    assert_calls_match(
        rows,
        [Truth.of(c) for c in mock.calls],
        source="openllmetry",
        # OpenLLMetry counts reasoning only for non-streamed calls, and has no time to first token.
        lacks=lambda truth: {"reasoning_tokens"} if truth.streaming else set(),
        ttft=lambda _truth: None,
    )


def _legacy_span(**attributes: object) -> SpanIn:
    """Synthetic: the older OpenLLMetry dialect (llm.* and prompt/completion token names), from the spec."""
    return SpanIn(
        trace_id="0" * 31 + "1",
        span_id="0" * 15 + "1",
        parent_span_id=None,
        name="openai.chat",
        kind=3,
        start_ns=1_700_000_000_000_000_000,
        end_ns=1_700_000_000_500_000_000,
        status_code=0,
        status_message=None,
        attributes=attributes,
        scope_name="opentelemetry.instrumentation.openai.v1",
    )


def test_older_openllmetry_names_are_read_as_the_same_facts() -> None:
    span = _legacy_span(
        **{
            "llm.request.type": "chat",
            "gen_ai.system": "Azure",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.model": "gpt-4o-2024-08-06",
            "gen_ai.usage.prompt_tokens": 1200,
            "gen_ai.usage.completion_tokens": 80,
            "gen_ai.usage.cache_read_input_tokens": 1024,
            "llm.usage.reasoning_tokens": 0,
            "llm.is_streaming": True,
        }
    )
    assert openllmetry.recognises(span)
    record = openllmetry.to_record(span)

    assert record is not None
    assert (record["operation"], record["streaming"]) == ("chat", True)
    assert (record["input_tokens"], record["output_tokens"], record["cache_read_tokens"]) == (1200, 80, 1024)
    assert (record["provider"], record["platform"], record["model"]) == ("openai", "azure", "openai/gpt-4o")


def test_openllmetry_workflow_and_task_spans_are_not_calls() -> None:
    span = _legacy_span(**{"traceloop.span.kind": "workflow", "traceloop.workflow.name": "triage"})
    assert openllmetry.to_record(span) is None


def test_openllmetry_call_through_a_gateway_surface_is_classified_by_its_endpoint(
    mock: MockProviders, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OpenLLMetry says `openai` for any OpenAI-compatible base URL; the endpoint table says OpenRouter."""
    monkeypatch.setenv("MODELMETER_ENDPOINTS", mock.endpoints)
    rows = ingest(
        capture("openllmetry-openrouter", mock, tmp_path / "openrouter.pb"), tmp_path / "calls.duckdb"
    )

    (served,) = mock.calls
    assert served.usage is not None
    (row,) = rows
    assert row["attributes"]["gen_ai.provider.name"] == "openai"
    assert (row["route"], row["gateway"], row["provider"], row["model"]) == (
        "gateway",
        "openrouter",
        served.provider,
        "anthropic/claude-sonnet-4.5",
    )
    assert (row["input_tokens"], row["output_tokens"], row["cache_read_tokens"]) == (
        served.usage.input_tokens,
        served.usage.output_tokens,
        served.usage.cache_read_tokens,
    )


def test_openllmetry_rate_limited_call_is_an_error_with_unknown_usage(
    mock: MockProviders, tmp_path: Path
) -> None:
    rows = ingest(capture("openllmetry-429", mock, tmp_path / "429.pb"), tmp_path / "calls.duckdb")

    (served,) = mock.calls
    (row,) = rows
    assert (served.http_status, row["status"], row["error_type"]) == (429, "error", "RateLimitError")
    assert row["usage_known"] is False
    assert [row[k] for k in TOKEN_COLUMNS] == [None] * len(TOKEN_COLUMNS)
    assert (row["cost_usd"], row["cost_source"]) == (None, "unpriced")
