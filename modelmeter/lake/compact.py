"""`modelmeter lake compact --day D`: a day's many small files rewritten as one, each span once.

The new file (named by its content, as ingest names files) is written before the old ones are
removed, so a reader sees the old files, or old and new together (deduplicated like any day with
several files), or the new file alone: never a span missing or counted twice. The day's rollups
then no longer match its files and the next `modelmeter rollup` redoes that day.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from modelmeter.lake.location import Lake
from modelmeter.lake.read import DEDUPE_SQL, NEWEST, DayFiles, read_files
from modelmeter.lake.write import CONTENT_SQL, COPY_OPTIONS, TABLES, WRITE_MEMORY, file_path


@dataclass
class Compacted:
    table: str
    files_before: int
    rows: int
    file: str | None  # the day's file after, None when there was nothing to do


def compact_day(lake: Lake, day: date) -> list[Compacted]:
    """Rewrite `day` of each table as one file; a day already in one file is left alone."""
    results = []
    for table in TABLES:
        files = DayFiles.of(lake, table).by_day.get(day, [])
        if len(files) < 2:
            results.append(Compacted(table, len(files), 0, files[0] if files else None))
            continue
        con = lake.connect(WRITE_MEMORY)
        with tempfile.TemporaryDirectory(prefix="modelmeter-compact-") as scratch:
            con.execute(f"SET temp_directory = '{Path(scratch) / 'spill'}'")
            con.execute(f"CREATE VIEW raw AS SELECT * FROM {read_files(lake, files)}")
            con.execute(
                "CREATE VIEW one AS "
                + DEDUPE_SQL.format(columns="* EXCLUDE (copy_rank)", newest=NEWEST[table], source="raw")
            )
            row = con.execute(f"SELECT {CONTENT_SQL} FROM one").fetchone()
            assert row is not None
            rows, low, high = row
            relative = file_path(table, day, rows, low, high)
            local = Path(scratch) / "day.parquet"
            con.execute(f"COPY (SELECT * FROM one ORDER BY start_time) TO '{local}' {COPY_OPTIONS}")
            con.close()
            lake.put(local, relative)
        lake.remove([f for f in files if f != relative])
        results.append(Compacted(table, len(files), int(rows), relative))
    return results
