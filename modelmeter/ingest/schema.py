"""The DuckDB schema as small numbered migrations, applied in order when a database is opened.

Migration N is applied once and recorded in `schema_migrations`; never edit a released migration,
add the next one. The `calls` columns follow the span record (modelmeter/record.py), with the
record's epoch-nanosecond times turned into `start_time` (TIMESTAMPTZ, UTC) and `end_time`.
"""

from __future__ import annotations

from modelmeter.record import RECORD_COLUMNS


def _calls_columns() -> str:
    columns = ["start_time TIMESTAMPTZ NOT NULL", "end_time TIMESTAMPTZ"]
    for name, sql_type in RECORD_COLUMNS.items():
        if name in ("start_ns", "end_ns"):
            continue
        not_null = " NOT NULL" if name in ("trace_id", "span_id") else ""
        columns.append(f'"{name}" {sql_type}{not_null}')
    columns += [
        "attempts INTEGER NOT NULL DEFAULT 1",  # tries of this logical call (rows in `attempts`)
        "price_period VARCHAR",  # which price row priced it (for reprice and audit)
        "ingested_at TIMESTAMPTZ NOT NULL DEFAULT now()",
        "PRIMARY KEY (trace_id, span_id)",
    ]
    return ",\n  ".join(columns)


MIGRATIONS: list[str] = [
    # 1: calls, attempts, ingested files, quarantine
    f"""
    CREATE TABLE calls (
      {_calls_columns()}
    );
    CREATE TABLE attempts (
      call_trace_id VARCHAR NOT NULL,     -- the logical call (calls.trace_id, calls.span_id)
      call_span_id VARCHAR NOT NULL,
      attempt INTEGER NOT NULL,           -- 0-based try number
      trace_id VARCHAR NOT NULL,          -- the try's own span
      span_id VARCHAR NOT NULL,
      start_time TIMESTAMPTZ NOT NULL,
      duration_ms DOUBLE,
      status VARCHAR,
      http_status INTEGER,
      error_type VARCHAR,
      model VARCHAR,
      platform VARCHAR,
      PRIMARY KEY (trace_id, span_id)
    );
    CREATE TABLE ingested_files (
      path VARCHAR PRIMARY KEY,
      size BIGINT,
      mtime_ns BIGINT,
      content_hash VARCHAR,
      spans INTEGER,
      calls_added INTEGER,
      ingested_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE TABLE quarantine (
      path VARCHAR NOT NULL,
      line BIGINT,
      reason VARCHAR NOT NULL,
      excerpt VARCHAR,
      quarantined_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    """,
]
