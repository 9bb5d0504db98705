"""ingest/: files of spans in (spool, OTLP, Collector exports), the DuckDB `calls` table out.

Public API (imported lazily, so that `modelmeter.ingest.normalise` stays light):
    ingest_paths(paths, db_path, *, prices_path=None, batch_spans=250_000, on_file=None) -> IngestSummary
    reprice(db_path, *, since=None, prices_path=None) -> RepriceSummary
    open_store(path, *, read_only=False) -> duckdb connection with the schema migrated
    load_overrides(path) -> [PriceOverride]   (prices.toml; the prices themselves: modelmeter.pricing)
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_HOMES = {
    "IngestSummary": "pipeline",
    "RepriceSummary": "pipeline",
    "ingest_paths": "pipeline",
    "reprice": "pipeline",
    "open_store": "store",
    "load_overrides": "pricing",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
