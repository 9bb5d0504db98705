"""The DuckDB store: opening a database applies the pending schema migrations.

Ingest is the only writer (DuckDB has one writer per file); apps write the spool, never this.
Sessions run in UTC so TIMESTAMPTZ values print and compare in UTC everywhere.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from modelmeter.ingest.schema import MIGRATIONS


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
    """Open (creating if needed) a modelmeter database with every migration applied."""
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        "SET enable_progress_bar = false"
    )  # our own progress goes to stderr, never DuckDB's to stdout
    if not read_only:
        migrate(con)
    return con


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
