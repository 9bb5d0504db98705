"""normalise/: one small mapping per span source, from a decoded OTLP span to a span record.

A source module (one per instrumentation: our own spans, the plain GenAI conventions, the anthropic
SDK, OpenLLMetry, OpenLIT, Logfire / pydantic-ai, the Vercel AI SDK, OpenInference) exposes:

    NAME: str                                   # goes to the record's `source` column
    def recognises(span: SpanIn) -> bool        # by instrumentation scope first, attributes second
    def to_record(span: SpanIn) -> dict | None  # a record (modelmeter/record.py) or None: not a call

`SOURCES` lists them most specific first; the first that recognises a span maps it. Spans that no
source recognises are not GenAI calls and are counted as ignored. When several layers describe
one logical call (the anthropic SDK's span around ours, the Vercel AI SDK's outer span around its
inner one), `ingest` keeps one row: see `layers.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(slots=True)
class SpanIn:
    """One span as decoded from OTLP (JSON or protobuf), before any source-specific mapping."""

    trace_id: str  # 32 lowercase hex
    span_id: str  # 16 lowercase hex
    parent_span_id: str | None
    name: str
    kind: int  # OTLP SpanKind: 3 = CLIENT
    start_ns: int
    end_ns: int
    status_code: int  # 0 unset, 1 ok, 2 error
    status_message: str | None
    attributes: dict[str, Any]
    scope_name: str
    scope_version: str | None = None
    resource: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)


class Source(Protocol):
    NAME: str

    def recognises(self, span: SpanIn) -> bool: ...

    def to_record(self, span: SpanIn) -> dict[str, Any] | None: ...
