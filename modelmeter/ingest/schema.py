"""The DuckDB schema as small numbered migrations, applied in order when a database is opened.

Migration N is applied once and recorded in `schema_migrations`; never edit a released migration,
add the next one. The `calls` columns follow the span record (modelmeter/record.py), with the
record's epoch-nanosecond times turned into `start_time` (TIMESTAMPTZ, UTC) and `end_time`.
`attempts` has the same per-span columns (one row per try of a call that was tried more than
once), so a calls row can always be rebuilt from its attempts when a late try arrives.

(trace_id, span_id) is unique in `calls` and in `attempts`. Ingest guarantees it (an anti-join
against stored rows on every batch, tested) rather than a PRIMARY KEY: DuckDB's index for one costs
about a third more CPU per insert and memory in proportion to the table, which holds tens of millions
of rows.
"""

from __future__ import annotations

from modelmeter.record import RECORD_COLUMNS

# A record column that only ingest uses: a foreign source marks an outer wrapper span that yields
# its row to an inner span of the same call (normalise/layers.py).
LAYER_COLUMN = "layer"


def span_columns() -> list[tuple[str, str]]:
    """(name, type) of the per-span columns stored in `calls` and `attempts`, in table order."""
    columns = [("start_time", "TIMESTAMPTZ"), ("end_time", "TIMESTAMPTZ")]
    columns += [
        (name, sql_type) for name, sql_type in RECORD_COLUMNS.items() if name not in ("start_ns", "end_ns")
    ]
    columns += [("price_period", "VARCHAR"), (LAYER_COLUMN, "VARCHAR")]
    return columns


def _column_sql(extra: list[str]) -> str:
    required = {"trace_id", "span_id", "start_time"}
    lines = [
        f'"{name}" {sql_type}{" NOT NULL" if name in required else ""}' for name, sql_type in span_columns()
    ]
    return ",\n  ".join(lines + extra)


_CALLS_EXTRA = [
    "attempts INTEGER NOT NULL DEFAULT 1",  # tries of this logical call (rows in `attempts`)
    "ingested_at TIMESTAMPTZ NOT NULL DEFAULT now()",
]

MIGRATIONS: list[str] = [
    # 1: calls, attempts, ingested files, quarantine
    f"""
    CREATE TABLE calls (
      {_column_sql(_CALLS_EXTRA)}
    );
    CREATE TABLE attempts (
      call_trace_id VARCHAR NOT NULL,     -- the logical call (calls.trace_id, calls.span_id)
      call_span_id VARCHAR NOT NULL,
      {_column_sql([])}
    );
    CREATE TABLE ingested_files (
      path VARCHAR NOT NULL,
      size BIGINT NOT NULL,
      content_hash VARCHAR NOT NULL,     -- sha256 of size, first and last MiB: spool files never change
      spans BIGINT,                      -- spans read (GenAI or not)
      spans_new BIGINT,                  -- GenAI spans not seen before
      quarantined BIGINT,
      ingested_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE TABLE quarantine (
      path VARCHAR NOT NULL,
      line BIGINT,                       -- 1-based line, or record number in framed files
      reason VARCHAR NOT NULL,
      excerpt VARCHAR,
      quarantined_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    """,
    # 2: dropped: spans the shim could not spool (full disk, unwritable spool, full queue), counted
    # by reason per process and period, so reports can say how many calls are missing
    """
    CREATE TABLE IF NOT EXISTS dropped (
      host VARCHAR,
      pid BIGINT,
      from_time TIMESTAMPTZ NOT NULL,    -- first and last drop of this count
      to_time TIMESTAMPTZ NOT NULL,
      reason VARCHAR NOT NULL,           -- queue_full, disk_full, spool_unwritable, unserialisable
      count BIGINT NOT NULL,
      path VARCHAR,                      -- the spool file the count was read from
      ingested_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    """,
    # 3: static scan findings (`modelmeter scan --db`), joined to calls by `report inventory`
    """
    CREATE TABLE scans (
      scan_id VARCHAR NOT NULL,          -- one scan run
      root VARCHAR NOT NULL,             -- the path scanned, absolute
      scanned_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      complete BOOLEAN NOT NULL,         -- false: the time limit stopped it before every file was read
      files_read BIGINT NOT NULL,
      skipped JSON                       -- reason -> files not read
    );
    CREATE TABLE scan_units (
      scan_id VARCHAR NOT NULL,
      unit VARCHAR NOT NULL,             -- directory relative to the root, '.' for the root
      name VARCHAR,                      -- the package name its manifest declares, else the directory's
      verdict VARCHAR NOT NULL,          -- gateway, direct keys, mixed, unclear, no AI calls found
      gateways VARCHAR,                  -- comma-separated gateway names
      still_direct VARCHAR               -- providers still called directly, with the evidence
    );
    CREATE TABLE scan_findings (
      scan_id VARCHAR NOT NULL,
      unit VARCHAR NOT NULL,
      category VARCHAR NOT NULL,         -- app, test, docs, fixture, vendored, generated, history
      kind VARCHAR NOT NULL,             -- sdk, model, endpoint, credential, literal_key, env_file,
                                         -- workflow_tag
      value VARCHAR NOT NULL,            -- never a secret: a literal key is its fingerprint, as in
                                         -- calls.key_fingerprint
      vendor VARCHAR,                    -- model vendor or gateway name
      route VARCHAR,                     -- direct or gateway, when the finding tells
      detail VARCHAR,                    -- key kind, import spelling, ...
      path VARCHAR NOT NULL,
      line INTEGER,                      -- 1-based; a notebook's code cell number; NULL in git history
      git_commit VARCHAR                 -- history: the commit that added it
    );
    """,
]
