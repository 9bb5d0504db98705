"""The spool: one flat record (modelmeter/record.py) per observed call, one JSON line each, in
plain files.

File rules (ingest depends on them):
- one writer per process; a file is append-only and named
  `spans-<UTC yyyymmddThhmmss>-<hostname>-<pid>-<seq>.ndjson.open` while it is being written (seq has
  six digits, so a process's files sort in the order they were written);
- it is closed (flushed, fsynced, renamed to `.ndjson` without `.open`, directory fsynced) when it
  reaches `rotate_bytes` (default 16 MiB), when it is `rotate_seconds` old (default 60 s, checked
  on each write and by a timer), and on `flush()`, shutdown and process exit;
- ingest reads closed `*.ndjson` files; a leftover `.open` file is from a process that died.

Records are made and written on the spool's own thread (`Spool`), never the app's: an ended call
waits there at most WRITE_DELAY_S before its record is written to the OS (so a process that ends
without warning loses at most that window), and calls that end meanwhile go out in the same write.
A spool that cannot be written (full disk, no permission) drops records with one warning, never an
error; what it drops is counted by reason and the counts are written as `kind: dropped` lines once
it can write again.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import operator
import os
import socket
import threading
import time
import weakref
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Protocol

import orjson

from modelmeter import semconv
from modelmeter.instrument import clock

log = logging.getLogger("modelmeter")

DEFAULT_ROTATE_BYTES = 16 << 20
DEFAULT_ROTATE_SECONDS = 60.0
MAX_QUEUED = 8192  # ended calls waiting to be written; more are dropped (counted)
WRITE_DELAY_S = 0.1  # the longest an ended call waits before its record is written to the OS


# one sequence per process, shared by every writer: a process never reuses a file name
_file_numbers = itertools.count(1)
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

    def forget_file(self) -> None:
        """After fork, in the child: close our copy of the parent's file without renaming it (the
        parent does that; its buffer is empty, see `Spool._before_fork`); the child's next write
        opens a file with its own pid."""
        self._lock = threading.Lock()
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
        self._file = self._path = None
        self._timer = None

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


class Spool:
    """Ended calls to the spool: `submit` (on the app's thread) only appends to a bounded queue; a
    thread of ours wakes when the queue stops being empty, waits WRITE_DELAY_S for more, then makes
    the records and appends them to the current file. The app never waits on disk or serialisation.

    Past `max_queued` waiting calls, more are dropped and counted; so are calls whose record cannot
    be serialised or written. A forked child gets a spool of its own (`_after_fork_in_child`)."""

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
        self._drop_lock = threading.Lock()
        self._dropped: Counter[str] = Counter()  # reason -> calls dropped since `_dropped_since`
        self._dropped_since = 0
        self._held_for_fork = False
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
            self._drop("queue_full")
            if not self._warned_full:
                self._warned_full = True
                log.warning("modelmeter: the spool queue is full (%d calls); calls are dropped", len(queue))
            return
        queue.append(call)
        if len(queue) == 1:
            self._wake.set()

    def _drop(self, reason: str, count: int = 1) -> None:
        with self._drop_lock:
            if not self._dropped:
                self._dropped_since = clock.now_ns()
            self._dropped[reason] += count

    def _run(self) -> None:
        while not self._stopped:
            self._wake.wait()
            self._halt.wait(self._delay_s)  # what ends meanwhile goes out in the same write
            self._wake.clear()
            self._write_queued()
            if self._queue:  # some came in while we wrote, after the queue had been non-empty
                self._wake.set()

    def _write_queued(self, timeout_s: float = -1) -> None:
        if not self._write_lock.acquire(timeout=timeout_s):
            return
        try:
            queue = self._queue
            lines = []
            for _ in range(len(queue)):
                call = queue.popleft()
                try:
                    record = record_of(call.record_values(), self.service, self.environment)
                    lines.append(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
                except (TypeError, ValueError):
                    log.debug("modelmeter: a call's record could not be serialised", exc_info=True)
                    self._drop("unserialisable")
            records = len(lines)
            with self._drop_lock:
                dropped, since = self._dropped, self._dropped_since
                self._dropped = Counter()
            if dropped:
                lines.extend(_dropped_lines(dropped, since))
            if lines and not self.writer.write(lines):
                for reason, count in dropped.items():  # counted again, to be written later
                    self._drop(reason, count)
                if records:
                    self._drop("spool_unwritable", records)
        finally:
            self._write_lock.release()

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Write what is queued and close the current file (the next call opens a new one); False
        when the spool's thread held the file past `timeout_s`."""
        if not self._write_lock.acquire(timeout=timeout_s):
            return False
        self._write_lock.release()
        self._write_queued(timeout_s)
        self.writer.close()
        return True

    def shutdown(self) -> None:
        self._stopped = True
        self._halt.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)
        self.flush()

    def _before_fork(self) -> None:
        """No write in flight while the process forks, so the child inherits no half-written buffer."""
        self._held_for_fork = self._write_lock.acquire(timeout=1.0)

    def _after_fork_in_parent(self) -> None:
        if self._held_for_fork:
            self._held_for_fork = False
            self._write_lock.release()

    def _after_fork_in_child(self) -> None:
        """The parent's queue, thread and open file are not ours: start afresh with our own."""
        self._held_for_fork = False
        self.writer.forget_file()
        self._start()


def _dropped_lines(dropped: Counter[str], since_ns: int) -> list[bytes]:
    """One `kind: dropped` line per reason (ingest counts them; normal records have no `kind`)."""
    common = {"host": socket.gethostname(), "pid": os.getpid(), "from_ns": since_ns, "to_ns": clock.now_ns()}
    return [
        orjson.dumps(
            {"kind": "dropped", "reason": reason, "count": count, **common}, option=orjson.OPT_APPEND_NEWLINE
        )
        for reason, count in sorted(dropped.items())
    ]


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
