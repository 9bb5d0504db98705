"""OTLP trace requests built by hand: spans as small dicts, encoded as OTLP/JSON, protobuf or frames."""

from __future__ import annotations

import struct
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from support.ingest import new_id

T0 = 1_767_225_600 * 10**9


def span(
    attrs: dict[str, Any],
    *,
    scope: str = "opentelemetry.instrumentation.example",
    trace_id: str | None = None,
    parent: str | None = None,
    name: str = "chat",
    start: int = T0,
    error: bool = False,
) -> dict[str, Any]:
    return {
        "trace_id": trace_id or new_id(16),
        "span_id": new_id(8),
        "parent": parent,
        "name": name,
        "scope": scope,
        "attrs": attrs,
        "start": start,
        "end": start + 1_500_000_000,
        "error": error,
    }


def _json_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list):
        return {"arrayValue": {"values": [_json_value(v) for v in value]}}
    return {"stringValue": str(value)}


def otlp_json(spans: list[dict[str, Any]]) -> dict[str, Any]:
    """One ExportTraceServiceRequest in OTLP/JSON (hex ids, int64 as strings), one scope per span."""
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "billing"}}]},
                "scopeSpans": [
                    {
                        "scope": {"name": s["scope"], "version": "1.0"},
                        "spans": [
                            {
                                "traceId": s["trace_id"].upper(),  # ids are case-insensitive hex
                                "spanId": s["span_id"],
                                **({"parentSpanId": s["parent"]} if s["parent"] else {}),
                                "name": s["name"],
                                "kind": 3,
                                "startTimeUnixNano": str(s["start"]),
                                "endTimeUnixNano": s["end"],  # numbers are accepted too
                                "attributes": [
                                    {"key": k, "value": _json_value(v)} for k, v in s["attrs"].items()
                                ],
                                "status": {"code": 2 if s["error"] else 1},
                            }
                        ],
                    }
                    for s in spans
                ],
            }
        ]
    }


def otlp_proto(spans: list[dict[str, Any]]) -> bytes:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    item = resource_spans.resource.attributes.add()
    item.key, item.value.string_value = "service.name", "billing"
    for s in spans:
        scope_spans = resource_spans.scope_spans.add()
        scope_spans.scope.name = s["scope"]
        out = scope_spans.spans.add()
        out.trace_id, out.span_id = bytes.fromhex(s["trace_id"]), bytes.fromhex(s["span_id"])
        if s["parent"]:
            out.parent_span_id = bytes.fromhex(s["parent"])
        out.name, out.kind = s["name"], 3
        out.start_time_unix_nano, out.end_time_unix_nano = s["start"], s["end"]
        out.status.code = 2 if s["error"] else 1
        for key, value in s["attrs"].items():
            attribute = out.attributes.add()
            attribute.key = key
            if isinstance(value, bool):
                attribute.value.bool_value = value
            elif isinstance(value, int):
                attribute.value.int_value = value
            elif isinstance(value, float):
                attribute.value.double_value = value
            elif isinstance(value, list):
                for v in value:
                    attribute.value.array_value.values.add().string_value = v
            else:
                attribute.value.string_value = str(value)
    return request.SerializeToString()


def framed(records: list[bytes]) -> bytes:
    return b"".join(struct.pack(">I", len(r)) + r for r in records)


def genai_current(**extra: Any) -> dict[str, Any]:
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": "claude-sonnet-4-5",
        "gen_ai.response.model": "claude-sonnet-4-5-20250929",
        "gen_ai.usage.input_tokens": 5000,
        "gen_ai.usage.output_tokens": 400,
        "gen_ai.usage.cache_read.input_tokens": 3000,
        "gen_ai.usage.cache_write.input_tokens": 1000,
        "gen_ai.response.finish_reasons": ["end_turn"],
        **extra,
    }


def genai_deprecated(**extra: Any) -> dict[str, Any]:
    return {
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.usage.prompt_tokens": 800,
        "gen_ai.usage.completion_tokens": 120,
        **extra,
    }
