"""Record files: flat NDJSON span records (modelmeter/record.py), the spool's line format.

DuckDB reads them directly (the fast path, in load.py). This module is the careful path: when DuckDB
rejects a file, each line is checked here, bad lines are quarantined with their number and reason,
and the good ones are written to a clean file that DuckDB then reads like any other.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from modelmeter.ingest.load import DROPPED_COLUMNS, DROPPED_KIND, STAGING_COLUMNS
from modelmeter.ingest.normalise import SpanIn, registry

_HEX32 = re.compile(r"[0-9a-f]{32}")
_HEX16 = re.compile(r"[0-9a-f]{16}")
_INT32 = 2**31


class Quarantined(NamedTuple):
    line: int | None
    reason: str
    excerpt: str | None


def looks_like_records(head: bytes) -> bool:
    """True when the first non-empty line is a flat span record (or a dropped-count line) rather
    than an OTLP request."""
    for line in head.split(b"\n"):
        if line.strip():
            try:
                first = orjson.loads(line)
            except orjson.JSONDecodeError:
                return b'"span_id"' in line and b"resourceSpans" not in line
            if not isinstance(first, dict) or "resourceSpans" in first:
                return False
            return "span_id" in first or first.get("kind") == DROPPED_KIND
    return False


class Rejected(ValueError):
    """A span that cannot be stored; the message is the reason (`serve` answers it, `ingest`
    quarantines it)."""


def record_of_span(span: SpanIn) -> dict[str, Any] | None:
    """The checked record of a decoded OTLP span, None when it is not a GenAI call; raises
    Rejected. `serve` runs this on every span it accepts, so whatever it acknowledges ingests."""
    if not 0 < span.start_ns < 2**63 or not 0 <= span.end_ns < 2**63:
        raise Rejected(f"span {span.name!r}: start or end time out of range")
    try:
        record = registry.to_record(span)
    except Exception as exc:  # a span a mapping cannot read is rejected, never fatal
        raise Rejected(f"span {span.name!r}: {type(exc).__name__}: {exc}") from exc
    if record is None:
        return None
    reason = problem(record)
    if reason is None:
        try:
            orjson.dumps(record, default=str)
        except TypeError as exc:  # e.g. an integer past 64 bits among the attributes
            reason = str(exc)
    if reason is not None:
        raise Rejected(f"span {span.name!r}: {reason}")
    return record


def problem(record: Any) -> str | None:
    """Why a parsed line is not a valid record (or count line), or None."""
    if not isinstance(record, dict):
        return "not a JSON object"
    if "kind" in record:
        return _count_line_problem(record)
    if not isinstance(record.get("trace_id"), str) or not _HEX32.fullmatch(record["trace_id"]):
        return "trace_id is not 32 lowercase hex characters"
    if not isinstance(record.get("span_id"), str) or not _HEX16.fullmatch(record["span_id"]):
        return "span_id is not 16 lowercase hex characters"
    if not _is_int(record.get("start_ns")):
        return "start_ns is missing or not an integer"
    for name, sql_type in STAGING_COLUMNS.items():
        value = record.get(name)
        if value is not None and not _fits(value, sql_type):
            return f"{name}: {type(value).__name__} value {str(value)[:40]!r} does not fit {sql_type}"
    return None


def _count_line_problem(record: dict[str, Any]) -> str | None:
    if record["kind"] != DROPPED_KIND:
        return f"unknown kind of line {str(record['kind'])[:40]!r}"
    if not isinstance(record.get("reason"), str):
        return "a dropped-count line without a reason"
    for name in ("count", "from_ns", "to_ns"):
        if not _fits(record.get(name), "BIGINT") or record[name] < 0:
            return f"a dropped-count line whose {name} is not a non-negative integer"
    for name, sql_type in DROPPED_COLUMNS.items():
        value = record.get(name)
        if value is not None and not _fits(value, sql_type):
            return f"{name}: {type(value).__name__} value {str(value)[:40]!r} does not fit {sql_type}"
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _fits(value: Any, sql_type: str) -> bool:
    if sql_type == "VARCHAR":
        return isinstance(value, str)
    if sql_type == "BIGINT":
        return _is_int(value) and -(2**63) <= value < 2**63
    if sql_type == "INTEGER":
        return _is_int(value) and -_INT32 <= value < _INT32
    if sql_type == "DOUBLE":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if sql_type == "BOOLEAN":
        return isinstance(value, bool)
    if sql_type == "JSON":
        return isinstance(value, dict)
    if sql_type.startswith("DECIMAL"):
        try:
            return not isinstance(value, bool) and abs(Decimal(str(value))) < 10**8
        except InvalidOperation:
            return False
    return True


def clean_copy(raw: bytes, out: Path) -> tuple[int, list[Quarantined]]:
    """Write the valid records of `raw` to `out`; return how many, and the bad lines."""
    bad: list[Quarantined] = []
    good: list[dict[str, Any]] = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            bad.append(Quarantined(number, f"broken JSON: {exc}", _excerpt(line)))
            continue
        reason = problem(record)
        if reason:
            bad.append(Quarantined(number, reason, _excerpt(line)))
        else:
            good.append(record)
    return write_records(good, out), bad


def write_records(records: Iterable[dict[str, Any]], out: Path) -> int:
    """Write records as NDJSON with only the staged columns (money as decimal strings)."""
    count = 0
    with out.open("wb") as handle:
        for record in records:
            row = {name: record.get(name) for name in STAGING_COLUMNS}
            handle.write(orjson.dumps(row, default=str) + b"\n")
            count += 1
    return count


def _excerpt(line: bytes) -> str:
    return line[:200].decode("utf-8", "replace")
