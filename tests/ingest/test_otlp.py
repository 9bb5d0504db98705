"""Ingest of OTLP traces: JSON, protobuf, Collector file-exporter output, gzip; normalisation,
layers (one row per logical call), foreign retries and failover, quarantine."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
import zstandard
from support.ingest import new_id, record, rows, write_ndjson
from support.otlp import T0, framed, genai_current, genai_deprecated, otlp_json, otlp_proto, span

from modelmeter import semconv
from modelmeter.ingest.pipeline import ingest_paths

HTTP_ONLY = {"http.request.method": "POST", "url.full": "https://api.example.com/v1/x"}


def _calls(db: Path) -> dict[str, tuple[Any, ...]]:
    found = rows(
        db,
        "SELECT span_id, source, provider, request_model, input_tokens, output_tokens, cache_read_tokens, "
        "cache_write_tokens, status, cost_source, service FROM calls",
    )
    return {r[0]: r[1:] for r in found}


def test_plain_genai_spans_current_and_deprecated_names_become_calls(tmp_path: Path) -> None:
    current, deprecated, http = span(genai_current()), span(genai_deprecated()), span(HTTP_ONLY, name="POST")
    path = tmp_path / "export.json"
    path.write_text(json.dumps(otlp_json([current, deprecated, http]), indent=2))

    summary = ingest_paths([path], tmp_path / "db.duckdb")

    assert (summary.spans, summary.calls_added, summary.ignored, summary.quarantined) == (3, 2, 1, 0)
    calls = _calls(tmp_path / "db.duckdb")
    assert calls[current["span_id"]] == (
        "otel-genai",
        "anthropic",
        "claude-sonnet-4-5",
        5000,
        400,
        3000,
        1000,
        "ok",
        "genai-prices",
        "billing",
    )
    assert calls[deprecated["span_id"]][:5] == ("otel-genai", "openai", "gpt-4o-mini", 800, 120)


def _request_pair() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return [span(genai_current()), span(HTTP_ONLY)], [span(genai_deprecated()), span(genai_current())]


ENCODINGS = {
    "otlp json, one request per file": lambda a, b: orjson.dumps(otlp_json(a + b)),
    "collector json lines": lambda a, b: (
        orjson.dumps(otlp_json(a)) + b"\n" + orjson.dumps(otlp_json(b)) + b"\n"
    ),
    "otlp protobuf": lambda a, b: otlp_proto(a + b),
    "collector proto, length-prefixed": lambda a, b: framed([otlp_proto(a), otlp_proto(b)]),
    "gzipped json lines": lambda a, b: gzip.compress(
        orjson.dumps(otlp_json(a)) + b"\n" + orjson.dumps(otlp_json(b))
    ),
    "gzipped framed records": lambda a, b: gzip.compress(framed([otlp_proto(a), orjson.dumps(otlp_json(b))])),
    "framed records each gzipped": lambda a, b: framed(
        [gzip.compress(otlp_proto(a)), gzip.compress(otlp_proto(b))]
    ),
    "collector zstd compression: framed records each zstd-compressed": lambda a, b: framed(
        [zstandard.compress(otlp_proto(a)), zstandard.compress(orjson.dumps(otlp_json(b)))]
    ),
}


@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_every_otlp_file_shape_yields_the_same_calls(tmp_path: Path, encoding: str) -> None:
    first, second = _request_pair()
    path = tmp_path / "traces.bin"  # no telling extension: the content decides
    path.write_bytes(ENCODINGS[encoding](first, second))

    summary = ingest_paths([path], tmp_path / "db.duckdb")

    assert (summary.calls_added, summary.ignored, summary.quarantined) == (3, 1, 0)
    genai = [s for s in first + second if s["attrs"] is not HTTP_ONLY]
    calls = _calls(tmp_path / "db.duckdb")
    assert set(calls) == {s["span_id"] for s in genai}
    assert sorted(c[3] for c in calls.values()) == sorted(
        s["attrs"].get("gen_ai.usage.input_tokens", s["attrs"].get("gen_ai.usage.prompt_tokens"))
        for s in genai
    )


def ours(**extra: Any) -> dict[str, Any]:
    return {
        semconv.GEN_AI_OPERATION_NAME: "chat",
        semconv.GEN_AI_REQUEST_MODEL: "claude-sonnet-4-5",
        semconv.GEN_AI_RESPONSE_MODEL: "claude-sonnet-4-5-20250929",
        semconv.MM_PROVIDER: "anthropic",
        semconv.MM_PLATFORM: "anthropic",
        semconv.MM_ROUTE: "direct",
        semconv.MM_MODEL: "anthropic/claude-sonnet-4.5",
        semconv.MM_STATUS: "ok",
        semconv.MM_USAGE_KNOWN: True,
        semconv.MM_INPUT_TOKENS: 5000,
        semconv.MM_OUTPUT_TOKENS: 400,
        semconv.MM_CACHE_READ_TOKENS: 3000,
        semconv.MM_CACHE_WRITE_TOKENS: 1000,
        semconv.MM_WORKFLOW: "triage",
        semconv.MM_KEY_FINGERPRINT: "0123456789ab…WXYZ",
        semconv.MM_COST_USD: "0.5",
        "modelmeter.wire_family": "anthropic.messages",
        **extra,
    }


def test_our_own_spans_over_otlp_map_through_semconv_columns(tmp_path: Path) -> None:
    own = span(ours(), scope=semconv.INSTRUMENTATION_SCOPE)
    path = tmp_path / "ours.json"
    path.write_bytes(orjson.dumps(otlp_json([own])))
    ingest_paths([path], tmp_path / "db.duckdb")
    found = rows(
        tmp_path / "db.duckdb",
        "SELECT source, workflow, model, key_fingerprint, input_tokens, cost_source, "
        "attributes->>'modelmeter.wire_family' FROM calls",
    )
    assert found == [
        (
            "modelmeter",
            "triage",
            "anthropic/claude-sonnet-4.5",
            "0123456789ab…WXYZ",
            5000,
            "genai-prices",
            "anthropic.messages",
        )
    ]


ANTHROPIC_SDK_SCOPE = "com.anthropic.sdk.python"


@pytest.mark.parametrize("order", ["same file", "foreign span first", "our span first"])
def test_a_foreign_span_around_our_span_counts_once_as_ours(tmp_path: Path, order: str) -> None:
    outer = span(genai_current(), scope=ANTHROPIC_SDK_SCOPE, name="anthropic.messages.create")
    inner = span(
        ours(), scope=semconv.INSTRUMENTATION_SCOPE, trace_id=outer["trace_id"], parent=outer["span_id"]
    )
    db = tmp_path / "db.duckdb"
    if order == "same file":
        (tmp_path / "both.json").write_bytes(orjson.dumps(otlp_json([outer, inner])))
        ingest_paths([tmp_path / "both.json"], db)
    else:
        first, second = (outer, inner) if order == "foreign span first" else (inner, outer)
        for index, s in enumerate((first, second)):
            (tmp_path / f"{index}.json").write_bytes(orjson.dumps(otlp_json([s])))
            ingest_paths([tmp_path / f"{index}.json"], db)
    assert rows(db, "SELECT span_id, source FROM calls") == [(inner["span_id"], "modelmeter")]


@pytest.mark.parametrize("inner_first", [False, True])
def test_an_outer_wrapper_yields_to_its_inner_span_which_inherits_its_attribution(
    tmp_path: Path, inner_first: bool
) -> None:
    wrapper = record(
        source="vercel-ai-sdk",
        layer="outer",
        workflow="summarise-ticket",
        attributes={"ai.telemetry.metadata.team": "support"},
    )
    inner = record(
        source="vercel-ai-sdk",
        trace_id=wrapper["trace_id"],
        parent_span_id=wrapper["span_id"],
        workflow=None,
        attributes={"ai.response.id": "resp_1"},
    )
    db = tmp_path / "db.duckdb"
    for index, r in enumerate((inner, wrapper) if inner_first else (wrapper, inner)):
        ingest_paths([write_ndjson(tmp_path / f"{index}.ndjson", [r])], db)
    found = rows(
        db,
        "SELECT span_id, workflow, attributes->>'ai.telemetry.metadata.team', "
        "attributes->>'ai.response.id' FROM calls",
    )
    assert found == [(inner["span_id"], "summarise-ticket", "support", "resp_1")]


def test_foreign_retries_fold_into_one_call_and_a_rescue_by_another_vendor_is_a_failover(
    tmp_path: Path,
) -> None:
    retry_trace, failover_trace = new_id(16), new_id(16)
    parent = new_id(8)
    failed_try = span(
        genai_deprecated(**{"error.type": "429"}), trace_id=retry_trace, parent=parent, error=True
    )
    good_try = span(genai_deprecated(), trace_id=retry_trace, parent=parent, start=T0 + 2 * 10**9)
    failed_openai = span(genai_deprecated(**{"error.type": "500"}), trace_id=failover_trace, error=True)
    rescue = span(genai_current(), trace_id=failover_trace, start=T0 + 3 * 10**9)
    path = tmp_path / "t.json"
    path.write_bytes(orjson.dumps(otlp_json([failed_try, good_try, failed_openai, rescue])))

    ingest_paths([path], tmp_path / "db.duckdb")

    found = rows(
        tmp_path / "db.duckdb",
        "SELECT span_id, attempts, status, fallback_from FROM calls ORDER BY start_time, span_id",
    )
    assert (failed_try["span_id"], 2, "ok", None) in found
    assert (rescue["span_id"], 1, "ok", "openai/gpt-4o-mini") in found
    assert (failed_openai["span_id"], 1, "error", None) in found
    assert len(found) == 3


def test_bad_otlp_input_is_quarantined_with_line_and_reason(tmp_path: Path) -> None:
    good, bad_id = span(genai_current()), span(genai_current())
    lines = orjson.dumps(otlp_json([good])) + b"\n{not json\n"
    (tmp_path / "lines.json").write_bytes(lines)
    request = otlp_json([bad_id])
    request["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["spanId"] = "zz-not-hex"
    (tmp_path / "bad-id.json").write_bytes(orjson.dumps(request))
    (tmp_path / "z.zst").write_bytes(b"\x28\xb5\x2f\xfd" + b"\xff" * 20)

    summary = ingest_paths([tmp_path], tmp_path / "db.duckdb")

    assert (summary.calls_added, summary.quarantined, summary.exit_code) == (1, 3, 3)
    reasons = rows(
        tmp_path / "db.duckdb",
        "SELECT regexp_extract(path, '[^/]+$'), line, reason FROM quarantine ORDER BY path",
    )
    assert [(name, line) for name, line, _ in reasons] == [
        ("bad-id.json", 1),
        ("lines.json", 2),
        ("z.zst", None),
    ]
    assert "invalid traceId or spanId" in reasons[0][2]
    assert "broken JSON" in reasons[1][2]
    assert "corrupt zstd data" in reasons[2][2]
