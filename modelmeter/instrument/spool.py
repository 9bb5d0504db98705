"""The spool: our spans as flat records (modelmeter/record.py), one JSON line each, in plain files.

The files follow modelmeter/spoolfile.py (ingest depends on it): one writer per process, named
`spans-<UTC yyyymmddThhmmss>-<host>-<pid>-<seq>.ndjson.open` while written and locked by their
writer, records appended whole, sealed (fsync, rename to `.ndjson`, directory fsync) when the file
reaches `rotate_bytes` (default 16 MiB), when it is `rotate_seconds` old (default 60 s, checked on
each write and by a timer), and on `flush()`, shutdown and process exit. A file left `.open` by a
process that died is sealed by `serve` or `ingest` (spoolfile.recover).
Only spans of our own instrumentation scope are written (the anthropic SDK's span around ours is
left out: see the package docstring). Records are made and written on the spool processor's own
thread (`SpoolProcessor`). A spool that cannot be written (full disk, no permission) drops spans
with one warning, never an error, and counts them by reason; the counts reach the spool as
`{"kind": "dropped", "reason": ..., "count": ..., "host": ..., "pid": ..., "from_ns": ...,
"to_ns": ...}` lines once it takes writes again (span records have no `kind`).
"""

from __future__ import annotations

import itertools
import logging
import operator
import os
import socket
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor

from modelmeter import semconv
from modelmeter.instrument.spool_span import Completion, SpoolSpan
from modelmeter.spoolfile import SpoolFile, is_disk_full

log = logging.getLogger("modelmeter")

DEFAULT_ROTATE_BYTES = 16 << 20
DEFAULT_ROTATE_SECONDS = 60.0
MAX_QUEUED = 8192  # ended spans waiting to be written; more are dropped
WAKE_AT = 512  # the writer thread wakes early when this many spans wait
WRITE_INTERVAL_S = 1.0  # ... and otherwise writes what waits this often
# why spans were dropped (the `reason` of a dropped-count line)
DROPPED_QUEUE_FULL = "queue_full"
DROPPED_DISK_FULL = "disk_full"
DROPPED_SPOOL_UNWRITABLE = "spool_unwritable"
DROPPED_UNSERIALISABLE = "unserialisable"


# attribute -> record key: a column, or "" for a convention copy of a column (left out of the record)
_KEY_OF: dict[str, str] = {**semconv.COLUMN_OF, **dict.fromkeys(semconv.REPEATS_OF_COLUMNS, "")}
_key_of: Callable[[str], str | None] = _KEY_OF.get


# What the spool keeps of an ended span until its thread writes it: plain values and the span's
# own attribute dict (name, trace id, span id, parent span id, start, end, attributes, resource,
# and what gives the rest of a `SpoolSpan`'s attributes on the spool's thread, or None).
Ended = tuple[str, int, int, int | None, int | None, int | None, Mapping[str, Any], Any, Completion | None]


def ended(span: ReadableSpan) -> Ended:
    """The few values of a span its record needs (cheap: runs on the app's thread as a span ends)."""
    parent = span.parent
    if type(span) is SpoolSpan:
        attributes: Mapping[str, Any] = span.attributes
        complete = span.complete
        trace_id, span_id = span.trace_id, span.span_id
    else:
        attributes, complete = _plain_attributes(span), None
        context = span.context
        trace_id, span_id = (context.trace_id, context.span_id) if context else (0, 0)
    return (
        span.name,
        trace_id,
        span_id,
        parent.span_id if parent else None,
        span.start_time,
        span.end_time,
        attributes,
        span.resource,
        complete,
    )


def record_of(span: Ended) -> dict[str, Any]:
    """A flat record of the keys that have a value: mapped attributes become columns, the rest
    `attributes` (record.py: a missing key is null, and convention copies of a column are left out).

    Written for speed (tuples stay tuples: orjson writes them as arrays)."""
    name, trace_id, span_id, parent_span_id, start_ns, end_ns, attributes, resource, complete = span
    if complete is not None:
        name, rest = complete.complete()
        attributes = {**attributes, **rest}
    service, environment = _resource_fields(resource)
    record: dict[Any, Any] = {
        "name": name,
        "start_ns": start_ns,
        "end_ns": end_ns,
        "source": semconv.INSTRUMENTATION_SCOPE,
    }
    if trace_id and span_id:
        record["trace_id"], record["span_id"] = f"{trace_id:032x}", f"{span_id:016x}"
    if parent_span_id is not None:
        record["parent_span_id"] = f"{parent_span_id:016x}"
    if service is not None:
        record["service"] = service
    if environment is not None:
        record["environment"] = environment
    # every attribute to its column in one C-level pass; unmapped ones land on key None, copies on ""
    record.update(zip(map(_key_of, attributes), attributes.values(), strict=True))
    record.pop("", None)
    if None in record:
        del record[None]
        unmapped = map(operator.not_, map(_KEY_OF.__contains__, attributes))
        record["attributes"] = dict(itertools.compress(attributes.items(), unmapped))
    return record


_resource_seen: tuple[Any, tuple[Any, Any]] = (None, (None, None))  # last resource, its fields


def _resource_fields(resource: Any) -> tuple[Any, Any]:
    """(service, environment) of a resource, remembered for the last one seen (a provider keeps one
    resource for its life; reading the SDK's attribute mapping costs two lookups that raise)."""
    global _resource_seen
    seen, fields = _resource_seen
    if resource is seen:
        return fields
    attributes = dict(resource.attributes) if resource is not None else {}
    fields = (
        attributes.get(semconv.SERVICE_NAME),
        attributes.get(semconv.DEPLOYMENT_ENVIRONMENT_NAME) or attributes.get(semconv.DEPLOYMENT_ENVIRONMENT),
    )
    _resource_seen = (resource, fields)
    return fields


def _plain_attributes(span: ReadableSpan) -> Mapping[str, Any]:
    """The span's attributes as a plain dict when the SDK keeps one (its mapping wrapper reads each
    value through Python-level methods, which costs more than the rest of the record)."""
    attributes: Any = getattr(span, "_attributes", None)
    data = getattr(attributes, "_dict", None)
    if isinstance(data, dict):
        return data
    return span.attributes or {}


class SpoolWriter:
    """Appends records to the current spool file; rotates and seals files by the rules above.

    It also keeps exact counts of the spans that never reached the spool, by reason
    (`count_dropped`), and writes them as `{"kind": "dropped", ...}` lines as soon as the spool
    takes writes again, fsynced, so that reports can say how many calls are missing."""

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
        self._file: SpoolFile | None = None
        self._warned = False
        self._timer: threading.Timer | None = None
        self._dropped_lock = threading.Lock()  # never held across I/O: the app's thread takes it
        self._dropped: dict[str, list[int]] = {}  # reason -> [count, first time, last time] (ns)

    def write(self, lines: Sequence[bytes]) -> bool:
        """Append lines (each ending in a newline); False when they were dropped (and counted)."""
        if not lines and not self._dropped:
            return True
        with self._lock:
            try:
                file = self._file
                if file is not None and (
                    file.size >= self.rotate_bytes or time.monotonic() - file.opened_at >= self.rotate_seconds
                ):
                    self._seal_locked()
                if lines:
                    self._current_locked().append(b"".join(lines))
            except OSError as exc:
                self._fail_locked(exc, len(lines))
                return False
            self._write_dropped_locked()
            return True

    def count_dropped(self, reason: str, count: int = 1) -> None:
        """Count spans that will never reach the spool (cheap: callable on the app's thread)."""
        now = time.time_ns()
        with self._dropped_lock:
            entry = self._dropped.get(reason)
            if entry is None:
                self._dropped[reason] = [count, now, now]
            else:
                entry[0] += count
                entry[2] = now

    def close(self) -> None:
        """Seal the current file (fsync + rename to `.ndjson`); the next write opens a new one."""
        with self._lock:
            self._write_dropped_locked()
            try:
                self._seal_locked()
            except OSError as exc:
                self._fail_locked(exc, 0)

    def forget_after_fork(self) -> None:
        """In a forked child: close the parent's file without unlocking or renaming it (the parent
        does that) and forget the parent's counts; the child's next write opens its own file."""
        self._lock = threading.Lock()
        self._dropped_lock = threading.Lock()
        self._dropped = {}
        file, self._file, self._timer = self._file, None, None
        if file is not None:
            file.forget_after_fork()

    def _current_locked(self) -> SpoolFile:
        if self._file is None:
            self._file = SpoolFile(self.directory, "spans", "ndjson")
            self._timer = threading.Timer(self.rotate_seconds, self._seal_if_current, args=(self._file,))
            self._timer.daemon = True
            self._timer.start()
        return self._file

    def _seal_if_current(self, file: SpoolFile) -> None:
        with self._lock:
            if self._file is file:
                self._write_dropped_locked()
                try:
                    self._seal_locked()
                except OSError as exc:
                    self._fail_locked(exc, 0)

    def _seal_locked(self) -> None:
        file, self._file = self._file, None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if file is not None:
            try:
                file.seal()
            except OSError:
                file.abandon()
                raise

    def _write_dropped_locked(self) -> None:
        """Write the counts of dropped spans, fsynced; kept for the next try when that fails."""
        if not self._dropped:
            return
        with self._dropped_lock:
            counts, self._dropped = self._dropped, {}
        host, pid = socket.gethostname(), os.getpid()
        data = b"".join(
            orjson.dumps(
                {
                    "kind": "dropped",
                    "reason": reason,
                    "count": count,
                    "host": host,
                    "pid": pid,
                    "from_ns": first,
                    "to_ns": last,
                },
                option=orjson.OPT_APPEND_NEWLINE,
            )
            for reason, (count, first, last) in counts.items()
        )
        try:
            file = self._current_locked()
            file.append(data)
            file.sync()
        except OSError as exc:
            with self._dropped_lock:  # put them back, merged with any counted meanwhile
                for reason, (count, first, last) in counts.items():
                    entry = self._dropped.setdefault(reason, [0, first, last])
                    entry[0] += count
                    entry[1], entry[2] = min(entry[1], first), max(entry[2], last)
            self._warn(exc)

    def _fail_locked(self, exc: OSError, lost: int) -> None:
        if lost:
            self.count_dropped(DROPPED_DISK_FULL if is_disk_full(exc) else DROPPED_SPOOL_UNWRITABLE, lost)
        self._warn(exc)
        file, self._file = self._file, None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if file is not None:
            file.abandon()

    def _warn(self, exc: OSError) -> None:
        if not self._warned:
            self._warned = True
            log.warning(
                "modelmeter: cannot write the spool in %s (%s); spans are dropped and counted",
                self.directory,
                exc,
            )


class SpoolProcessor(SpanProcessor):
    """Our spans (scope `modelmeter`) to the spool: a thread of ours turns ended spans into record
    lines and appends them to the current file, so the app never waits on disk or serialisation.

    Why not the SDK's BatchSpanProcessor with an exporter: its queue keeps every ended span object
    (a dozen garbage-collected containers each) alive for seconds, so they get promoted into the
    collector's old generations and the app pays for full collections it would otherwise never
    run (measured with the openai SDK: tens of µs per call, amortised). Of an SDK span we keep only
    `ended(span)`: plain values plus the span's attribute dict, two tracked objects. A `SpoolSpan`
    is kept as it is, with the call it completes (six tracked objects in all, counted by a test),
    and read on our thread. The queue is bounded: past MAX_QUEUED spans are dropped (one warning).
    """

    def __init__(
        self,
        writer: SpoolWriter,
        *,
        max_queued: int = MAX_QUEUED,
        wake_at: int = WAKE_AT,
        interval_s: float = WRITE_INTERVAL_S,
    ) -> None:
        self.writer = writer
        self._max_queued = max_queued
        self._wake_at = wake_at
        self._interval_s = interval_s
        self._queue: deque[Ended | SpoolSpan] = deque()  # a SpoolSpan is light enough to keep
        self._wake = threading.Event()
        self._write_lock = threading.Lock()
        self._stopped = False
        self._warned_full = False
        self._thread: threading.Thread | None = None
        self._start_thread()
        _after_fork_in_child.add(self)

    def _start_thread(self) -> None:
        self._thread = threading.Thread(target=self._run, name="modelmeter-spool", daemon=True)
        self._thread.start()

    def on_end(self, span: ReadableSpan) -> None:
        if self._stopped:
            return
        kept: Ended | SpoolSpan = span  # type: ignore[assignment]
        if type(span) is not SpoolSpan:  # an SDK span: keep only its values (see the class docstring)
            scope = span.instrumentation_scope
            if scope is None or scope.name != semconv.INSTRUMENTATION_SCOPE:
                return
            kept = ended(span)
        queue = self._queue
        if len(queue) >= self._max_queued:
            self.writer.count_dropped(DROPPED_QUEUE_FULL)
            if not self._warned_full:
                self._warned_full = True
                log.warning("modelmeter: the spool queue is full (%d spans); spans are dropped", len(queue))
            return
        queue.append(kept)
        if len(queue) == self._wake_at:  # once as the queue grows past it: the event stays set
            self._wake.set()

    def _run(self) -> None:
        while not self._stopped:
            self._wake.wait(self._interval_s)
            self._wake.clear()
            self._write_queued()

    def _write_queued(self) -> None:
        with self._write_lock:
            queue = self._queue
            lines = []
            for _ in range(len(queue)):
                span = queue.popleft()
                try:
                    values = ended(span) if isinstance(span, SpoolSpan) else span  # type: ignore[arg-type]
                    lines.append(orjson.dumps(record_of(values), option=orjson.OPT_APPEND_NEWLINE))
                except (TypeError, ValueError):
                    self.writer.count_dropped(DROPPED_UNSERIALISABLE)
                    log.debug("modelmeter: span could not be serialised", exc_info=True)
            self.writer.write(lines)  # with no lines, it still writes pending drop counts

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Write what is queued and close the current file (the next span opens a new one)."""
        self._write_queued()
        self.writer.close()
        return True

    def shutdown(self) -> None:
        self._stopped = True
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)
        self.force_flush()

    def _reset_after_fork(self) -> None:
        """In a forked child: the parent's queue, thread and open file are not ours."""
        self._queue = deque()
        self._wake = threading.Event()
        self._write_lock = threading.Lock()
        self.writer.forget_after_fork()
        if not self._stopped:
            self._start_thread()


# processors to reset in a forked child (threads do not survive fork; files belong to the parent)
_after_fork_in_child: weakref.WeakSet[SpoolProcessor] = weakref.WeakSet()


def _reset_processors_after_fork() -> None:
    for processor in list(_after_fork_in_child):
        processor._reset_after_fork()


os.register_at_fork(after_in_child=_reset_processors_after_fork)
