"""Publishing spool files: the one file layer under the shim's spool and `modelmeter serve`.

A spool file is the durable queue between a writer and `ingest`, so every rule here is about what a
crash can leave behind:
- one naming scheme, `<kind>-<UTC yyyymmddThhmmss>-<host>-<pid>-<seq>.<ext>` (seq has six digits,
  so a process's files sort in the order they were written), plus `.open` while it is written;
- the writer holds an exclusive `flock` on the file for its whole life: a `.open` file nobody can
  lock belongs to a live writer and is never touched; one anybody can lock was left by a writer
  that is gone (killed, crashed, a host that lost power, a forked child that never closed it);
- records are appended whole: a failed or short write is cut back to the last complete record, so
  one full disk never leaves half a record in front of later ones;
- a file is published by fsync, rename to the name without `.open`, fsync of the directory;
- `recover` seals a file left `.open` at its last complete record, moves a torn tail into the
  quarantine directory (named after the file and the offset it was cut at) and publishes the file;
- directories are 0700 and files 0600 whatever the umask: spans name keys, teams and workflows.

Two record framings: `ndjson` (one JSON object per line, the shim's records) and `otlp` (a 4-byte
big-endian length before each record, the Collector's framing, which `serve` writes).

Standard library only: the shim imports this inside users' apps.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import itertools
import os
import socket
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

OPEN_SUFFIX = ".open"
_HIDDEN_SUFFIX = ".new"  # a file being created, before it is locked and named `.open`
QUARANTINE_DIR = "quarantine"  # inside the spool directory; `ingest` never reads it as input
DIR_MODE = 0o700
FILE_MODE = 0o600
_FRAME = struct.Struct(">I")

# one sequence per process, shared by every writer: a process never reuses a file name
_file_numbers = itertools.count(1)


def _end_of_lines(data: bytes) -> int:
    """Length of the complete lines at the start of `data`."""
    return data.rfind(b"\n") + 1


def _end_of_frames(data: bytes) -> int:
    """Length of the complete length-prefixed records at the start of `data`."""
    offset = 0
    while offset + _FRAME.size <= len(data):
        (length,) = _FRAME.unpack_from(data, offset)
        end = offset + _FRAME.size + length
        if end > len(data):
            break
        offset = end
    return offset


# file extension -> how to find the end of its last complete record
FRAMINGS: dict[str, Callable[[bytes], int]] = {"ndjson": _end_of_lines, "otlp": _end_of_frames}


def private_directory(directory: Path) -> Path:
    """Create `directory` (and missing parents) and make it 0700 whatever the umask."""
    directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if directory.stat().st_mode & 0o777 != DIR_MODE:
        with contextlib.suppress(PermissionError):  # not ours: leave it, our files stay 0600
            directory.chmod(DIR_MODE)
    return directory


def host_name() -> str:
    """The host as it appears in file names (no `-`, which separates the name's fields)."""
    return (socket.gethostname() or "host").replace("-", "_").replace("/", "_")


def fsync_directory(directory: Path) -> None:
    """Make a rename in `directory` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def is_disk_full(exc: OSError) -> bool:
    return exc.errno in (errno.ENOSPC, errno.EDQUOT)


class SpoolFile:
    """One spool file being written: locked, appended whole records at a time, then sealed.

    Not thread-safe: its writer serialises calls (`sync` may run outside the writer's lock while
    nothing else touches the file)."""

    def __init__(self, directory: Path, kind: str, ext: str) -> None:
        if ext not in FRAMINGS:
            raise ValueError(f"unknown spool file framing {ext!r}")
        private_directory(directory)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        name = f"{kind}-{stamp}-{host_name()}-{os.getpid()}-{next(_file_numbers):06d}.{ext}"
        self.path = directory / (name + OPEN_SUFFIX)
        self.size = 0  # bytes of complete records
        self.opened_at = time.monotonic()
        # made under a hidden name and locked before it is named `.open`: `recover` must never
        # find an `.open` file that is not locked yet while its writer lives
        hidden = directory / f".{name}{_HIDDEN_SUFFIX}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC
        self._fd: int | None = os.open(hidden, flags, FILE_MODE)
        try:
            os.fchmod(self._fd, FILE_MODE)  # the umask may have taken bits off, never added: be exact
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.rename(hidden, self.path)
        except OSError:
            self._discard()
            with contextlib.suppress(OSError):
                hidden.unlink()
            raise

    @property
    def closed(self) -> bool:
        return self._fd is None

    def append(self, data: bytes) -> None:
        """Append whole records; on any failure the file is cut back to its last complete record
        and OSError is raised (when even that fails, the file is given up: sealed where it can be)."""
        fd = self._fd
        if fd is None:
            raise OSError(errno.EBADF, "spool file already closed")
        view = memoryview(data)
        written = 0
        try:
            while written < len(data):
                count = os.write(fd, view[written:])
                if count == 0:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                written += count
        except OSError:
            if written:
                try:
                    os.ftruncate(fd, self.size)
                except OSError:
                    self.abandon()
            raise
        self.size += written

    def sync(self) -> None:
        if self._fd is None:
            raise OSError(errno.EBADF, "spool file already closed")
        os.fsync(self._fd)

    def seal(self) -> Path:
        """fsync, publish under the closed name, fsync the directory, unlock; returns the new path.

        An empty file is removed instead (it holds nothing to ingest)."""
        fd = self._fd
        if fd is None:
            raise OSError(errno.EBADF, "spool file already closed")
        final = self.path.with_name(self.path.name.removesuffix(OPEN_SUFFIX))
        try:
            if self.size == 0:
                self.path.unlink()
            else:
                os.fsync(fd)
                os.replace(self.path, final)
            fsync_directory(self.path.parent)
        finally:
            self._fd = None
            os.close(fd)  # releases the lock
        return final

    def abandon(self) -> None:
        """Stop writing this file after an error: seal it if possible, else unlock it as it is, so
        `recover` (on `serve` start, in `ingest`) seals it at its last complete record."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, self.size)
        try:
            self.seal()
        except OSError:
            self._discard()

    def forget_after_fork(self) -> None:
        """In a forked child: close the inherited descriptor without unlocking, renaming or
        writing (the file is the parent's; the lock stays the parent's until it closes)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def _discard(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)


@dataclass(frozen=True)
class Recovered:
    """A file left `.open` by a writer that is gone, now published at `path`."""

    path: Path | None  # None when it held no complete record (then it was removed)
    kept: int  # bytes of complete records
    torn_at: int | None = None  # offset of a torn tail, when there was one
    torn_copy: Path | None = None  # where the torn tail was moved


def open_files(directory: Path) -> Iterator[Path]:
    """The `.open` spool files directly in `directory` (sorted, for a stable order)."""
    try:
        yield from sorted(p for p in directory.iterdir() if p.name.endswith(OPEN_SUFFIX) and p.is_file())
    except FileNotFoundError:
        return


def recover(directory: Path) -> list[Recovered]:
    """Seal every `.open` file in `directory` whose writer is gone; live writers' files are left.

    Also removes the hidden, still unnamed files of writers that died while creating one (a
    minute old at least: a live writer names its file at once, but may not have locked it yet)."""
    for hidden in sorted(directory.glob(f".*{_HIDDEN_SUFFIX}")):
        with contextlib.suppress(OSError):
            if time.time() - hidden.stat().st_mtime < 60:
                continue
            fd = os.open(hidden, os.O_RDONLY | os.O_CLOEXEC)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError: a writer is naming it
                hidden.unlink()
            finally:
                os.close(fd)
    found = []
    for path in open_files(directory):
        # gone: another recoverer got there first; no permission: not ours to seal
        with contextlib.suppress(FileNotFoundError, PermissionError):
            recovered = recover_file(path)
            if recovered is not None:
                found.append(recovered)
    return found


def recover_file(path: Path) -> Recovered | None:
    """Seal one `.open` file if its writer is gone (None when a live writer holds it)."""
    ext = path.name.removesuffix(OPEN_SUFFIX).rsplit(".", 1)[-1]
    end_of_records = FRAMINGS.get(ext, _end_of_lines)
    fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None  # its writer lives
        if not path.exists():  # sealed by its writer or another recoverer while we waited
            return None
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read()
        kept = end_of_records(data)
        torn_at, torn_copy = None, None
        if kept < len(data):
            torn_at = kept
            torn_copy = _quarantine_tail(path, kept, data[kept:])
            os.ftruncate(fd, kept)
        final: Path | None = path.with_name(path.name.removesuffix(OPEN_SUFFIX))
        if kept == 0:
            path.unlink()
            final = None
        else:
            os.fsync(fd)
            os.replace(path, final)  # type: ignore[arg-type]
        fsync_directory(path.parent)
        return Recovered(final, kept, torn_at, torn_copy)
    finally:
        os.close(fd)


def _quarantine_tail(path: Path, offset: int, tail: bytes) -> Path:
    """Keep a torn tail (durably, before the file is cut) as `<file>.torn-at-<offset>`."""
    directory = private_directory(path.parent / QUARANTINE_DIR)
    name = path.name.removesuffix(OPEN_SUFFIX)
    copy = directory / f"{name}.torn-at-{offset}"
    fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        os.write(fd, tail)
        os.fsync(fd)
    finally:
        os.close(fd)
    fsync_directory(directory)
    return copy
