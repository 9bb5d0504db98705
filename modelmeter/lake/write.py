"""`modelmeter ingest --lake`: spans in through ingest's own path, Parquet files by day out.

The spans go through exactly what `ingest --db` does (decode, normalise, price, fold retries,
layer rules) into a scratch DuckDB file, one per run, and each day of its `calls` and `attempts` is
then written as one Parquet file under `TABLE/day=YYYY-MM-DD/`. A file is named after the set of
`(trace_id, span_id)` it holds, so ingesting the same spans again replaces the file instead of
adding one, and writers on many hosts need no coordination: two files that share a span (two hosts
fed the same span, or a run that re-read a grown spool) are reconciled by readers, who keep one row
per `(trace_id, span_id)`, and by `modelmeter lake compact`. Input that ingest quarantines is kept
too, as `quarantine/quarantine-<digest>.parquet` (file, line, reason, excerpt).

The tries of a retried call are folded into one calls row within a run; tries of one call spread
over two runs land as two rows (the same limit as two hosts seeing one call's tries).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from modelmeter.ingest.pipeline import IngestSummary, ingest_paths
from modelmeter.lake.location import S3, Lake, s3_filesystem

TABLES = ("calls", "attempts")
# the scratch DuckDB's memory while writing: COPY and the sort by time spill to disk beyond it
WRITE_MEMORY = "1GB"


# A file's name: the number of spans it holds and two 64-bit XORs of their ids' MD5 (halves), so the
# same set of spans always gets the same name, whatever their order.
CONTENT_SQL = (
    "count(*), bit_xor(md5_number_lower(trace_id || span_id)), bit_xor(md5_number_upper(trace_id || span_id))"
)
COPY_OPTIONS = "(FORMAT parquet, COMPRESSION zstd)"


def day_dir(table: str, day: date) -> str:
    return f"{table}/day={day.isoformat()}"


def file_path(table: str, day: date, rows: int, low: int, high: int) -> str:
    """The lake path of a file of `table` for `day` with the content CONTENT_SQL summarises."""
    return f"{day_dir(table, day)}/part-{rows}-{high:016x}{low:016x}.parquet"


@dataclass
class LakeIngest:
    summary: IngestSummary
    written: list[str] = field(default_factory=list)  # lake paths of the files written


def ingest_to_lake(
    sources: Sequence[str] | None,
    lake: Lake,
    *,
    prices_path: Path | None = None,
    batch_spans: int = 250_000,
    on_file: Callable[[Path, int], None] | None = None,
) -> LakeIngest:
    """Ingest local paths or `s3://` prefixes (spool, OTLP, Collector output) into `lake`."""
    with tempfile.TemporaryDirectory(prefix="modelmeter-lake-") as scratch_dir:
        scratch = Path(scratch_dir)
        inputs = local_inputs(sources, scratch / "inputs") if sources else None
        db = scratch / "run.duckdb"
        summary = ingest_paths(inputs, db, prices_path=prices_path, batch_spans=batch_spans, on_file=on_file)
        return LakeIngest(summary, export(db, lake, scratch))


def local_inputs(sources: Sequence[str], into: Path) -> list[Path]:
    """Local paths as they are; each `s3://` prefix downloaded under `into` (ingest reads local files)."""
    paths: list[Path] = []
    for number, source in enumerate(sources):
        if not source.startswith(S3):
            paths.append(Path(source))
            continue
        target = into / str(number)
        target.mkdir(parents=True)
        fs = s3_filesystem()
        keys = [k for k in fs.find(source[len(S3) :].rstrip("/")) if not k.endswith("/")]
        if not keys:
            raise FileNotFoundError(f"no objects under {source}")
        for index, key in enumerate(keys):
            fs.get_file(key, str(target / str(index)) + _suffix(key))
        paths.append(target)
    return paths


def _suffix(key: str) -> str:
    """Keep the object's extension (open spool files end in `.open` and are skipped)."""
    name = key.rsplit("/", 1)[-1]
    return name[name.find(".") :] if "." in name else ""


def _export_quarantine(con: duckdb.DuckDBPyConnection, lake: Lake, scratch: Path) -> list[str]:
    """The run's quarantined input (file, line, reason, excerpt), kept in the lake under `quarantine/`."""
    if not con.execute("SELECT count(*) FROM quarantine").fetchall()[0][0]:
        return []
    digest = con.execute(
        "SELECT md5(string_agg(concat_ws(' ', path, line, reason), ' ' ORDER BY path, line, reason)) "
        "FROM quarantine"
    ).fetchall()[0][0]
    relative = f"quarantine/quarantine-{digest[:24]}.parquet"
    local = scratch / "quarantine.parquet"
    con.execute(f"COPY (SELECT * FROM quarantine ORDER BY path, line) TO '{local}' {COPY_OPTIONS}")
    lake.put(local, relative)
    return [relative]


def export(db: Path, lake: Lake, scratch: Path) -> list[str]:
    """Write each day of the scratch database's `calls` and `attempts` to the lake."""
    con = duckdb.connect(str(db), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET memory_limit = '{WRITE_MEMORY}'")
    con.execute(f"SET temp_directory = '{scratch / 'spill'}'")
    written: list[str] = []
    try:
        for table in TABLES:
            days = con.execute(
                f"SELECT start_time::DATE AS day, {CONTENT_SQL} FROM {table} GROUP BY day ORDER BY day"
            ).fetchall()
            for day, rows, low, high in days:
                relative = file_path(table, day, rows, low, high)
                local = scratch / "part.parquet"
                con.execute(
                    f"COPY (SELECT * FROM {table} WHERE start_time >= $day::TIMESTAMPTZ "
                    f"AND start_time < $day::TIMESTAMPTZ + INTERVAL 1 DAY ORDER BY start_time) "
                    f"TO '{local}' {COPY_OPTIONS}",
                    {"day": day},
                )
                lake.put(local, relative)
                written.append(relative)
        written += _export_quarantine(con, lake, scratch)
    finally:
        con.close()
    return written
