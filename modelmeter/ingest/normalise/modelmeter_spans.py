"""Our own spans when they arrive as OTLP (exported by the shim to a collector, or through `serve`).

The spool already holds them as records; over OTLP the same facts are span attributes, named by
`semconv.COLUMN_OF`, so the mapping is that table read backwards.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from modelmeter import semconv
from modelmeter.ingest.normalise import SpanIn
from modelmeter.ingest.normalise._common import new_record
from modelmeter.record import RECORD_COLUMNS

NAME = "modelmeter"

_INTEGER_TYPES = ("BIGINT", "INTEGER")


def recognises(span: SpanIn) -> bool:
    return span.scope_name == semconv.INSTRUMENTATION_SCOPE


def to_record(span: SpanIn) -> dict[str, Any] | None:
    record = new_record(span, NAME)
    extra: dict[str, Any] = {}
    for key, value in span.attributes.items():
        column = semconv.COLUMN_OF.get(key)
        if column is None:
            extra[key] = value
        else:
            record[column] = _typed(column, value)
    record["attributes"] = extra
    return record


def _typed(column: str, value: Any) -> Any:
    """OTLP carries ints as strings in JSON and money as strings: give each column its record type."""
    sql_type = RECORD_COLUMNS[column]
    if value is None:
        return None
    if sql_type in _INTEGER_TYPES:
        return int(value)
    if sql_type == "DOUBLE":
        return float(value)
    if sql_type == "BOOLEAN":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    if sql_type.startswith("DECIMAL"):
        try:
            return str(Decimal(str(value)))
        except InvalidOperation:
            return None
    return str(value)
