"""The DuckDB store: opening a database applies the pending schema migrations.

Ingest is the only writer (DuckDB has one writer per file); apps write the spool, never this.
Sessions run in UTC so TIMESTAMPTZ values print and compare in UTC everywhere. The database file is
0600 (it names keys, teams and workflows). A damaged file (truncated, overwritten) is one clear
error saying what to do (`DamagedDatabase`), for every command that opens it.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from modelmeter import spoolfile
from modelmeter.ingest.schema import MIGRATIONS

_HEADER_BYTES = 3 * 4096  # a DuckDB file: a main header and two database headers, then blocks


class DamagedDatabase(ValueError):
    """The database file cannot be read; the message names it and says how to get the data back."""


def default_home() -> Path:
    return Path(os.environ.get("MODELMETER_HOME", ".modelmeter"))


def default_db_path() -> Path:
    """MODELMETER_DB, else $MODELMETER_HOME/modelmeter.duckdb."""
    configured = os.environ.get("MODELMETER_DB")
    return Path(configured) if configured else default_home() / "modelmeter.duckdb"


def default_spool_dir() -> Path:
    """MODELMETER_SPOOL, else $MODELMETER_HOME/spool."""
    configured = os.environ.get("MODELMETER_SPOOL")
    return Path(configured) if configured else default_home() / "spool"


def open_store(path: Path | str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) a modelmeter database with every migration applied.

    Raises DamagedDatabase when the file is not a readable database."""
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = connect_checked(path, read_only=read_only)
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        "SET enable_progress_bar = false"
    )  # our own progress goes to stderr, never DuckDB's to stdout
    if not read_only:
        migrate(con)
        make_private(path)
    return con


def connect_checked(path: Path, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """duckdb.connect, with a damaged file turned into DamagedDatabase (a file another process
    holds is not damaged: that error passes through)."""
    with damage_reported(path):
        con = duckdb.connect(str(path), read_only=read_only)
    found = con.execute(
        "SELECT total_blocks, block_size FROM pragma_database_size() WHERE database_name = current_database()"
    ).fetchall()
    row = found[0] if found else None
    if row is not None and path.exists():
        expected = _HEADER_BYTES + int(row[0]) * int(row[1])
        if int(row[0]) and path.stat().st_size < expected:
            con.close()
            reason = f"it is {path.stat().st_size} bytes, its own index needs {expected}: truncated"
            raise DamagedDatabase(damaged_message(path, reason))
    return con


# what DuckDB says when a file's bytes are wrong, on opening it or on reading a block later
_DAMAGE_SIGNS = ("corrupt", "checksum", "could not read enough bytes", "not a valid duckdb database")


@contextlib.contextmanager
def damage_reported(path: Path) -> Iterator[None]:
    """Turn DuckDB's errors about a damaged file into DamagedDatabase (other errors pass)."""
    try:
        yield
    except duckdb.Error as exc:
        error: BaseException | None = exc
        while error is not None:  # a failed ROLLBACK after a failed read hides the first error
            first_line = (str(error).splitlines() or [type(error).__name__])[0]
            if isinstance(error, duckdb.Error) and any(s in first_line.lower() for s in _DAMAGE_SIGNS):
                raise DamagedDatabase(damaged_message(path, first_line)) from exc
            error = error.__context__
        raise


def damaged_message(path: Path, reason: str) -> str:
    """One line: which file, why, and what to do (restore, or rebuild from the spool if it can)."""
    spool = default_spool_dir()
    closed = sorted(
        p
        for p in (spool.iterdir() if spool.is_dir() else ())
        if p.is_file() and not p.name.startswith(".") and not p.name.endswith(spoolfile.OPEN_SUFFIX)
    )
    if closed:
        oldest = time.strftime("%Y-%m-%d", time.gmtime(min(p.stat().st_mtime for p in closed)))
        rebuild = (
            f"or move it aside and rebuild it with `modelmeter ingest {spool}`: the spool still holds "
            f"{len(closed)} files, the oldest from {oldest}, so a rebuild recovers what was spooled "
            "since then (anything older, or ingested from elsewhere, needs the backup)"
        )
    else:
        rebuild = (
            f"the spool {spool} holds no files, so re-ingesting cannot rebuild it "
            "(re-ingest the original files if you still have them)"
        )
    return f"the database {path} is damaged ({reason}): restore it from a backup, {rebuild}"


@contextlib.contextmanager
def private_files() -> Iterator[None]:
    """Files made meanwhile are the owner's only (the write-ahead log and DuckDB's spill files
    appear while the store is written); the caller's umask comes back afterwards."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def make_private(path: Path) -> None:
    """The database (and its write-ahead log) readable by its owner only, whatever the umask."""
    for file in (path, path.with_name(path.name + ".wal")):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if file.stat().st_mode & 0o777 != spoolfile.FILE_MODE:
                file.chmod(spoolfile.FILE_MODE)


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply the migrations not yet recorded; returns the schema version."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ DEFAULT now())"
    )
    row = con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
    current = int(row[0]) if row else 0
    for version, sql in enumerate(MIGRATIONS, start=1):
        if version <= current:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql)
            con.execute("INSERT INTO schema_migrations (version) VALUES (?)", [version])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        current = version
    return current
