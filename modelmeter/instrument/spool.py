"""The spool: our spans as flat records (modelmeter/record.py), one JSON line each, in plain files.

File rules (ingest depends on them):
- one writer per process; a file is append-only and named
  `spans-<UTC yyyymmddThhmmss>-<hostname>-<pid>-<seq>.ndjson.open` while it is being written (seq has
  six digits, so a process's files sort in the order they were written);
- it is closed (flushed, fsynced, renamed to `.ndjson` without `.open`, directory fsynced) when it
  reaches `rotate_bytes` (default 16 MiB), when it is `rotate_seconds` old (default 60 s, checked
  on each write and by a timer), and on `flush()`, shutdown and process exit;
- ingest reads only closed `*.ndjson` files; a leftover `.open` file is from a process that died.
Only spans of our own instrumentation scope are written (the anthropic SDK's span around ours is
left out: see the package docstring). Writes happen on the batch span processor's thread. A spool
that cannot be written (full disk, no permission) drops spans with one warning, never an error.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import orjson
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from modelmeter import semconv
from modelmeter.record import RECORD_COLUMNS

log = logging.getLogger("modelmeter")

DEFAULT_ROTATE_BYTES = 16 << 20
DEFAULT_ROTATE_SECONDS = 60.0


# one sequence per process, shared by every writer: a process never reuses a file name
_file_numbers = itertools.count(1)
_EMPTY_RECORD: dict[str, Any] = dict.fromkeys(RECORD_COLUMNS)
_COLUMN_OF = semconv.COLUMN_OF


def span_record(span: ReadableSpan) -> dict[str, Any]:
    """One of our spans as a flat record: mapped attributes become columns, the rest `attributes`.

    Runs once per span on the batch processor's thread, so it is written for speed (tuples stay
    tuples: orjson writes them as arrays)."""
    context = span.context
    parent = span.parent
    resource = span.resource.attributes if span.resource is not None else {}
    record = _EMPTY_RECORD.copy()
    record["trace_id"] = f"{context.trace_id:032x}" if context else None
    record["span_id"] = f"{context.span_id:016x}" if context else None
    record["parent_span_id"] = f"{parent.span_id:016x}" if parent else None
    record["name"] = span.name
    record["start_ns"] = span.start_time
    record["end_ns"] = span.end_time
    record["source"] = semconv.INSTRUMENTATION_SCOPE
    record["service"] = resource.get(semconv.SERVICE_NAME)
    record["environment"] = resource.get(semconv.DEPLOYMENT_ENVIRONMENT_NAME) or resource.get(
        semconv.DEPLOYMENT_ENVIRONMENT
    )
    extra: dict[str, Any] = {}
    column_of = _COLUMN_OF.get
    for key, value in _plain_attributes(span).items():
        column = column_of(key)
        if column is None:
            extra[key] = value
        else:
            record[column] = value
    record["attributes"] = extra
    return record


def _plain_attributes(span: ReadableSpan) -> Mapping[str, Any]:
    """The span's attributes as a plain dict when the SDK keeps one (its mapping wrapper reads each
    value through Python-level methods, which costs more than the rest of the record)."""
    attributes: Any = getattr(span, "_attributes", None)
    data = getattr(attributes, "_dict", None)
    if isinstance(data, dict):
        return data
    return span.attributes or {}


class SpoolWriter:
    """Appends records to the current spool file; rotates and closes files by the rules above."""

    def __init__(
        self,
        directory: Path,
        rotate_bytes: int = DEFAULT_ROTATE_BYTES,
        rotate_seconds: float = DEFAULT_ROTATE_SECONDS,
    ) -> None:
        self.directory = directory
        self.rotate_bytes = rotate_bytes
        self.rotate_seconds = rotate_seconds
        self._lock = threading.Lock()
        self._file: IO[bytes] | None = None
        self._path: Path | None = None
        self._opened_at = 0.0
        self._size = 0
        self._warned = False
        self._timer: threading.Timer | None = None
        self._host = (socket.gethostname() or "host").replace("-", "_").replace("/", "_")

    def write(self, lines: Sequence[bytes]) -> bool:
        """Append lines (each ending in a newline); False when they were dropped."""
        if not lines:
            return True
        with self._lock:
            try:
                if self._file is not None and (
                    self._size >= self.rotate_bytes
                    or time.monotonic() - self._opened_at >= self.rotate_seconds
                ):
                    self._close_locked()
                if self._file is None:
                    self._open_locked()
                assert self._file is not None
                data = b"".join(lines)
                self._file.write(data)
                self._file.flush()
                self._size += len(data)
                return True
            except OSError as exc:
                self._drop_locked(exc)
                return False

    def close(self) -> None:
        """Close the current file (fsync + rename to `.ndjson`); the next write opens a new one."""
        with self._lock:
            try:
                self._close_locked()
            except OSError as exc:
                self._drop_locked(exc)

    def _open_locked(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        name = f"spans-{stamp}-{self._host}-{os.getpid()}-{next(_file_numbers):06d}.ndjson.open"
        self._path = self.directory / name
        self._file = open(self._path, "ab")  # noqa: SIM115 - kept open across writes
        self._opened_at = time.monotonic()
        self._size = 0
        self._timer = threading.Timer(self.rotate_seconds, self._close_if_current, args=(self._file,))
        self._timer.daemon = True
        self._timer.start()

    def _close_if_current(self, file: IO[bytes]) -> None:
        with self._lock:
            if self._file is file:
                try:
                    self._close_locked()
                except OSError as exc:
                    self._drop_locked(exc)

    def _close_locked(self) -> None:
        file, path = self._file, self._path
        self._file = self._path = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if file is None or path is None:
            return
        try:
            file.flush()
            os.fsync(file.fileno())
        finally:
            file.close()
        final = path.with_name(path.name.removesuffix(".open"))
        os.replace(path, final)
        _fsync_directory(path.parent)

    def _drop_locked(self, exc: OSError) -> None:
        if not self._warned:
            self._warned = True
            log.warning(
                "modelmeter: cannot write the spool in %s (%s); spans are dropped", self.directory, exc
            )
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
        self._file = self._path = None


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class SpoolExporter(SpanExporter):
    """A span exporter that writes our spans (scope `modelmeter`) to the spool as records."""

    def __init__(self, writer: SpoolWriter) -> None:
        self.writer = writer

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = []
        for span in spans:
            scope = span.instrumentation_scope
            if scope is None or scope.name != semconv.INSTRUMENTATION_SCOPE:
                continue
            try:
                lines.append(orjson.dumps(span_record(span), option=orjson.OPT_APPEND_NEWLINE))
            except (TypeError, ValueError):
                log.debug("modelmeter: span could not be serialised", exc_info=True)
        self.writer.write(lines)
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        self.writer.close()
        return True

    def shutdown(self) -> None:
        self.writer.close()
