"""SOURCES: the span sources in the order they are tried, most specific first.

Built from module names so that a source module that is not there (yet) is simply skipped: the
foreign mappings are written separately from this list. The plain GenAI conventions come last, as
the fallback for any instrumentation that follows them.
"""

from __future__ import annotations

import importlib
from typing import Any, cast

from modelmeter.ingest.normalise import Source, SpanIn

SOURCE_MODULES: tuple[str, ...] = (
    "modelmeter_spans",
    "anthropic_sdk",
    "vercel_ai_sdk",
    "ai_sdk_otel",
    "logfire",
    "openlit",
    "openllmetry",
    "openinference",
    "genai",
)


def _load(names: tuple[str, ...]) -> list[Source]:
    sources = []
    for name in names:
        try:
            module = importlib.import_module(f"{__package__}.{name}")
        except ModuleNotFoundError as missing:
            if missing.name != f"{__package__}.{name}":
                raise
            continue
        sources.append(cast(Source, module))
    return sources


SOURCES: list[Source] = _load(SOURCE_MODULES)


def to_record(span: SpanIn) -> dict[str, Any] | None:
    """The record of a GenAI call span, or None when no source takes it (not a call)."""
    for source in SOURCES:
        if source.recognises(span):
            return source.to_record(span)
    return None
