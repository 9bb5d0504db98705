"""The Vercel AI SDK in Node (npm `ai`, telemetry on) against the mock, exporting to `modelmeter serve`.

The whole foreign path: Node's OTLP/HTTP protobuf exporter -> `modelmeter serve` -> spool ->
`modelmeter ingest` -> `calls`.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from foreign.harness import (
    FIRST_CHUNK,
    NODE_PROJECT,
    OUTPUT,
    Truth,
    assert_calls_match,
    ingest,
    modelmeter_serve,
    node_or_skip,
    slow_first_token,
)

from modelmeter.mock import MockProviders

pytestmark = pytest.mark.node

# The AI SDK reports finish reasons in its own unified vocabulary, not the provider's.
AI_SDK_FINISH_REASON = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool-calls",
}


def _run_ai_sdk(mock: MockProviders, spool: Path) -> list[dict[str, Any]]:
    """Run the Node script once, exporting to `modelmeter serve`; returns what the app saw per call."""
    node = node_or_skip()
    slow_first_token(mock)
    with modelmeter_serve(spool) as traces_url:
        result = subprocess.run(
            [
                node,
                "ai-sdk-telemetry.mjs",
                "--openai",
                mock.base_url("openai"),
                "--anthropic",
                mock.origin("anthropic") + "/v1",
                "--otlp",
                traces_url,
            ],
            cwd=NODE_PROJECT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_ai_sdk_calls_land_once_each_with_the_outer_span_s_attribution(
    mock: MockProviders, tmp_path: Path
) -> None:
    app_saw = _run_ai_sdk(mock, tmp_path / "spool")
    rows = ingest(tmp_path / "spool", tmp_path / "calls.duckdb", cli=True)
    served = [Truth.of(c) for c in mock.calls]

    # the AI SDK's Anthropic provider reports no separate thinking count: unknown, not 0
    lacks_reasoning = {"reasoning_tokens"}
    assert_calls_match(
        rows,
        served,
        source="vercel-ai-sdk",
        lacks=lambda truth: lacks_reasoning if truth.provider == "anthropic" else set(),
        says=lambda truth: {
            "finish_reason": AI_SDK_FINISH_REASON.get(truth.finish_reason, truth.finish_reason)
        },
        # msToFirstChunk times the first stream part: Anthropic's message_start comes before any output
        ttft=lambda truth: FIRST_CHUNK if truth.provider == "anthropic" else OUTPUT,
    )
    assert [r["name"].rsplit(".", 1)[-1] for r in rows] == ["doGenerate", "doStream"] * 2
    assert [t.usage["cache_write_tokens"] > 0 for t in served] == [False, False, True, False]
    assert [seen["usage"]["inputTokens"] for seen in app_saw] == [t.usage["input_tokens"] for t in served]
    assert {(r["workflow"], r["team"], r["service"]) for r in rows} == {
        ("weekly-summary", "finance", "ai-sdk-capture")
    }
