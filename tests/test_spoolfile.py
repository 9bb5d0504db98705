"""modelmeter/spoolfile.py: spool files as real processes leave them (alive, killed, forked)."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from support.disk import fill, tiny_disk

from modelmeter import spoolfile
from modelmeter.spoolfile import SpoolFile

LINES = [b'{"n": 1}\n', b'{"n": 2}\n', b'{"n": 3}\n']
FRAMES = [struct.pack(">I", len(b)) + b for b in (b"one", b"two!", b"three")]
RECORDS = {"ndjson": (LINES, b'{"n": 4, "half'), "otlp": (FRAMES, struct.pack(">I", 50) + b"torn")}


def _writer(directory: Path, ext: str, *, umask: int = 0o022, torn: bool = True) -> subprocess.Popen[str]:
    """A process that writes whole records (and then half of one, as if cut mid-write) and waits."""
    records, tail = RECORDS[ext]
    script = textwrap.dedent(f"""
        import os, sys, time
        from pathlib import Path
        from modelmeter.spoolfile import SpoolFile
        os.umask({umask})
        spool = SpoolFile(Path({str(directory)!r}), "spans", {ext!r})
        for record in {records!r}:
            spool.append(record)
        if {torn!r}:
            os.write(spool._fd, {tail!r})  # what a kill in the middle of a write leaves
        print(spool.path, flush=True)
        time.sleep(600)
    """)
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    process.path = Path(process.stdout.readline().strip())  # type: ignore[attr-defined]
    return process


@pytest.mark.parametrize("ext", ["ndjson", "otlp"])
def test_a_live_writers_file_is_left_alone_and_a_dead_writers_is_sealed_at_its_last_complete_record(
    tmp_path: Path, ext: str
) -> None:
    records, tail = RECORDS[ext]
    writer = _writer(tmp_path, ext)
    path: Path = writer.path  # type: ignore[attr-defined]
    try:
        assert spoolfile.recover(tmp_path) == []
        assert path.read_bytes() == b"".join(records) + tail
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()

    [found] = spoolfile.recover(tmp_path)

    whole = len(b"".join(records))
    sealed = path.with_name(path.name.removesuffix(".open"))
    assert (found.path, found.kept, found.torn_at) == (sealed, whole, whole)
    assert sealed.read_bytes() == b"".join(records) and not path.exists()
    assert found.torn_copy == tmp_path / "quarantine" / f"{sealed.name}.torn-at-{whole}"
    assert found.torn_copy.read_bytes() == tail
    assert spoolfile.recover(tmp_path) == []  # nothing left to do


def test_files_and_directories_are_private_whatever_the_umask(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    writer = _writer(spool, "ndjson", umask=0, torn=True)
    writer.kill()
    writer.wait()
    spoolfile.recover(spool)
    made = [spool, *spool.rglob("*")]
    assert len(made) == 4  # the spool, its sealed file, the quarantine directory and the torn tail
    for path in made:
        assert path.stat().st_mode & 0o777 == (0o700 if path.is_dir() else 0o600), path


def test_a_name_says_kind_time_host_pid_and_sequence_and_sorts_in_writing_order(tmp_path: Path) -> None:
    first, second = SpoolFile(tmp_path, "otlp", "otlp"), SpoolFile(tmp_path, "otlp", "otlp")
    kind, stamp, host, pid, seq = first.path.name.removesuffix(".otlp.open").split("-")
    assert (kind, host, int(pid), len(stamp), len(seq)) == ("otlp", spoolfile.host_name(), os.getpid(), 15, 6)
    assert sorted([second.path.name, first.path.name])[0] == first.path.name
    first.append(b"\0\0\0\0")
    assert first.seal().name == first.path.name.removesuffix(".open")
    second.seal()
    assert not second.path.exists(), "an empty file is removed, not published"
    assert not list(tmp_path.glob(".*")), "no hidden file is left behind"


def test_a_failed_write_on_a_full_disk_is_rolled_back_to_the_last_complete_record(tmp_path: Path) -> None:
    with tiny_disk(tmp_path / "disk") as disk:
        spool = SpoolFile(disk / "spool", "spans", "ndjson")
        record = b'{"pad": "' + b"x" * 300_000 + b'"}\n'
        with pytest.raises(OSError) as full:
            for _ in range(10):
                spool.append(record)
        assert spoolfile.is_disk_full(full.value)
        assert spool.size % len(record) == 0 and spool.path.stat().st_size == spool.size
        filler = fill(disk)
        with pytest.raises(OSError):
            spool.append(b'{"pad": "' + b"y" * 10_000 + b'"}\n')  # more than the last page holds
        assert spool.path.stat().st_size == spool.size
        filler.unlink()  # space returns: the same file takes whole records again
        spool.append(b'{"small": 1}\n')
        sealed = spool.seal()
        lines = sealed.read_bytes().splitlines(keepends=True)
        assert lines[-1] == b'{"small": 1}\n' and set(lines[:-1]) == {record}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_closes_its_copy_without_unlocking_or_publishing_the_parents_file(
    tmp_path: Path,
) -> None:
    spool = SpoolFile(tmp_path, "spans", "ndjson")
    spool.append(LINES[0])
    pid = os.fork()
    if pid == 0:
        spool.forget_after_fork()
        os._exit(0 if spool.closed else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert spoolfile.recover(tmp_path) == [], "the parent still holds its lock"
    spool.append(LINES[1])
    assert spool.seal().read_bytes() == LINES[0] + LINES[1]


def test_a_hidden_file_left_by_a_writer_that_died_while_creating_it_is_removed_once_old(
    tmp_path: Path,
) -> None:
    stale, fresh = tmp_path / ".spans-1-h-1-000001.ndjson.new", tmp_path / ".spans-2-h-1-000002.ndjson.new"
    stale.touch()
    fresh.touch()
    os.utime(stale, (0, 0))
    assert spoolfile.recover(tmp_path) == []
    assert not stale.exists() and fresh.exists(), "a fresh one may be a live writer's, about to be named"
