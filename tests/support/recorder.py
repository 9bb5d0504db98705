"""Our spans, caught by an in-memory exporter instead of the spool."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from modelmeter import semconv as sc


class Recorder:
    """Our spans, as an in-memory exporter received them."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))

    def spans(self) -> list[ReadableSpan]:
        return [
            s
            for s in self.exporter.get_finished_spans()
            if s.instrumentation_scope is not None
            and s.instrumentation_scope.name == sc.INSTRUMENTATION_SCOPE
        ]

    def only(self) -> dict[str, Any]:
        spans = self.spans()
        assert len(spans) == 1, [s.name for s in spans]
        return dict(spans[0].attributes or {})
