"""The spool: one flat record (modelmeter/record.py) per observed call, one JSON line each, in
plain files.

The files follow modelmeter/spoolfile.py (ingest depends on it): one writer per process, named
`spans-<UTC yyyymmddThhmmss>-<host>-<pid>-<seq>.ndjson.open` while written and locked by their
writer, records appended whole, sealed (fsync, rename to `.ndjson`, directory fsync) when the file
reaches `rotate_bytes` (default 16 MiB), when it is `rotate_seconds` old (default 60 s, checked on
each write and by a timer), and on `flush()`, shutdown and process exit. A file left `.open` by a
process that died is sealed by `serve` or `ingest` (spoolfile.recover).

Records are made and written on the spool's own thread (`Spool`), never the app's: an ended call
waits there at most WRITE_DELAY_S before its record is written to the OS (so a process that ends
without warning loses at most that window), and calls that end meanwhile go out in the same write.
A spool that cannot be written (full disk, no permission) drops records with one warning, never an
error, and counts them by reason (so does a full queue, or a record that cannot be serialised); the
counts reach the spool as `{"kind": "dropped", "reason": ..., "count": ..., "host": ..., "pid": ...,
"from_ns": ..., "to_ns": ...}` lines once it takes writes again (records have no `kind`).
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
from typing import Any, Protocol

import orjson

from modelmeter import semconv
from modelmeter.spoolfile import SpoolFile, is_disk_full

log = logging.getLogger("modelmeter")

DEFAULT_ROTATE_BYTES = 16 << 20
DEFAULT_ROTATE_SECONDS = 60.0
MAX_QUEUED = 8192  # ended calls waiting to be written; more are dropped (counted)
WRITE_DELAY_S = 0.1  # the longest an ended call waits before its record is written to the OS
FORK_WAIT_S = 5.0  # the longest a fork waits for the batch being written (see `Spool._before_fork`)
# why records were dropped (the `reason` of a dropped-count line)
DROPPED_QUEUE_FULL = "queue_full"
DROPPED_DISK_FULL = "disk_full"
DROPPED_SPOOL_UNWRITABLE = "spool_unwritable"
DROPPED_UNSERIALISABLE = "unserialisable"

# attribute -> record key: a column, or "" for a convention copy of a column (left out of the record)
_KEY_OF: dict[str, str] = {**semconv.COLUMN_OF, **dict.fromkeys(semconv.REPEATS_OF_COLUMNS, "")}
_key_of: Callable[[str], str | None] = _KEY_OF.get

# (name, trace id, span id, parent span id, start ns, end ns, attributes) of one call
RecordValues = tuple[str, int, int, int | None, int, int, Mapping[str, Any]]


class Recordable(Protocol):
    """An ended call (`call.CallObservation`)."""

    def record_values(self) -> RecordValues:
        """What its record is made of; asked on the spool's thread."""
        ...


def record_of(values: RecordValues, service: str | None, environment: str | None) -> dict[str, Any]:
    """A flat record of the keys that have a value: mapped attributes become columns, the rest
    `attributes` (record.py: a missing key is null, and convention copies of a column are left out).

    Written for speed (tuples stay tuples: orjson writes them as arrays)."""
    name, trace_id, span_id, parent_span_id, start_ns, end_ns, attributes = values
    record: dict[Any, Any] = {
        "name": name,
        "start_ns": start_ns,
        "end_ns": end_ns,
        "source": semconv.INSTRUMENTATION_SCOPE,
        "trace_id": f"{trace_id:032x}",
        "span_id": f"{span_id:016x}",
    }
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


class Spool:
    """Ended calls to the spool: `submit` (on the app's thread) only appends to a bounded queue; a
    thread of ours wakes when the queue stops being empty, waits WRITE_DELAY_S for more, then makes
    the records and appends them to the current file. The app never waits on disk or serialisation.

    Past `max_queued` waiting calls, more are dropped and counted (`SpoolWriter.count_dropped`);
    so are calls whose record cannot be serialised or written. A forked child gets a spool of its
    own (`_after_fork_in_child`)."""

    def __init__(
        self,
        writer: SpoolWriter,
        service: str | None = None,
        environment: str | None = None,
        *,
        max_queued: int = MAX_QUEUED,
        delay_s: float = WRITE_DELAY_S,
    ) -> None:
        self.writer = writer
        self.service = service
        self.environment = environment
        self._max_queued = max_queued
        self._delay_s = delay_s
        self._stopped = False
        self._halt = threading.Event()  # set at shutdown: no more waiting
        self._start()
        _spools.add(self)

    def _start(self) -> None:
        """A fresh queue, counters and thread (at start, and in a forked child)."""
        self._queue: deque[Recordable] = deque()
        self._wake = threading.Event()
        self._write_lock = threading.Lock()
        self._warned_full = False
        self._held_for_fork = False
        self._holder: int | None = None  # the thread that holds the write lock
        self._thread: threading.Thread | None = None
        if not self._stopped:
            self._thread = threading.Thread(target=self._run, name="modelmeter-spool", daemon=True)
            self._thread.start()

    def submit(self, call: Recordable) -> None:
        """An ended call (on the app's thread: an append, and a wake-up when the queue was empty)."""
        if self._stopped:
            return
        queue = self._queue
        if len(queue) >= self._max_queued:
            self.writer.count_dropped(DROPPED_QUEUE_FULL)
            if not self._warned_full:
                self._warned_full = True
                log.warning("modelmeter: the spool queue is full (%d calls); calls are dropped", len(queue))
            return
        queue.append(call)
        if len(queue) == 1:
            self._wake.set()

    def _run(self) -> None:
        while not self._stopped:
            self._wake.wait()
            self._halt.wait(self._delay_s)  # what ends meanwhile goes out in the same write
            self._wake.clear()
            if self._hold():
                try:
                    self._write_queued()
                finally:
                    self._let_go()
            if self._queue:  # some came in while we wrote, after the queue had been non-empty
                self._wake.set()

    def _hold(self, timeout_s: float = -1) -> bool:
        """Take the spool's write lock; False when it is not had within `timeout_s`, or at once when
        this thread holds it already (a signal handler that interrupted our own write: see exits.py)."""
        if self._holder == threading.get_ident() or not self._write_lock.acquire(timeout=timeout_s):
            return False
        self._holder = threading.get_ident()
        return True

    def _let_go(self) -> None:
        self._holder = None
        self._write_lock.release()

    def _write_queued(self) -> None:
        """Make the queued calls' records and append them (with the write lock held)."""
        queue = self._queue
        lines = []
        for _ in range(len(queue)):
            call = queue.popleft()
            try:
                record = record_of(call.record_values(), self.service, self.environment)
                lines.append(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
            except (TypeError, ValueError):
                self.writer.count_dropped(DROPPED_UNSERIALISABLE)
                log.debug("modelmeter: a call's record could not be serialised", exc_info=True)
        self.writer.write(lines)  # with no lines, it still writes pending drop counts

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Write what is queued and seal the current file (the next call opens a new one); False
        when the write lock was not had within `timeout_s`."""
        if not self._hold(timeout_s):
            return False
        try:
            self._write_queued()
            self.writer.close()
        finally:
            self._let_go()
        return True

    def shutdown(self) -> None:
        self._stopped = True
        self._halt.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)
        self.flush()

    def _before_fork(self) -> None:
        """Let a batch the spool's thread is making finish before the process forks: it may be
        importing a module (pricing data, the first time), and a child forked meanwhile would find
        that module half made, for good."""
        self._held_for_fork = self._hold(FORK_WAIT_S)

    def _after_fork_in_parent(self) -> None:
        if self._held_for_fork:
            self._held_for_fork = False
            self._let_go()

    def _after_fork_in_child(self) -> None:
        """The parent's queue, thread and open file are not ours: start afresh with our own."""
        self.writer.forget_after_fork()
        self._start()


# live spools, for the fork hooks (threads do not survive fork; files belong to the parent)
_spools: weakref.WeakSet[Spool] = weakref.WeakSet()


def _each_spool(method: Callable[[Spool], None]) -> Callable[[], None]:
    def run() -> None:
        for spool in list(_spools):
            try:
                method(spool)
            except Exception:  # a fork hook must never fail the fork
                log.debug("modelmeter: spool fork hook failed", exc_info=True)

    return run


os.register_at_fork(
    before=_each_spool(Spool._before_fork),
    after_in_parent=_each_spool(Spool._after_fork_in_parent),
    after_in_child=_each_spool(Spool._after_fork_in_child),
)
