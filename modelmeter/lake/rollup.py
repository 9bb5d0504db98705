"""`modelmeter rollup`: the daily rollups of a lake, computed by DuckDB or Apache Spark.

The definition lives in reports/rollup.py (`DAILY_SQL`, `DAILY_HISTOGRAMS`): plain SQL over the
deduplicated `calls` (read.DEDUPE_SQL) with their `day` partition, which both engines run as it is.
The engines only register that view and hand back the small results; the results are then typed
and ordered the same way and written by the same code, so the two engines produce the same files.

Each closed day (before today, UTC) gets `rollups/{calls,durations,ttfts}/day=D/FP.parquet`, where FP
is a fingerprint of the day's raw files (names, sizes, versions). A day whose rollups carry the
current fingerprint is skipped, so a re-run does nothing and a day that received files since is
rolled up again; readers use a day's rollups only when the fingerprint matches (read.py).
`calls` is written last: its presence marks a complete set.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Protocol

import polars as pl

from modelmeter.lake.location import Lake, LakeError
from modelmeter.lake.read import DEDUPE_SQL, NEWEST, DayFiles, union_sql
from modelmeter.reports import rollup as definition

# days per engine job: one scan serves them all, and deduplication sorts no more than a week at once
DAYS_PER_JOB = 7
KINDS = ("durations", "ttfts", "calls")  # the order they are written in: calls marks completion
QUERIES = {"calls": definition.DAILY_SQL, **definition.DAILY_HISTOGRAMS}
# how each kind's rows are ordered in the file (NULLs last), so equal results give equal files
ORDER = {
    "calls": [*definition.KEYS, *definition._FLAGS],
    "durations": [*definition.LATENCY_KEYS, "bucket"],
    "ttfts": [*definition.LATENCY_KEYS, "bucket"],
}


class Engine(Protocol):
    name: str

    def compute(self, lake: Lake, days: DayFiles) -> dict[str, pl.DataFrame]:
        """The results of QUERIES over the calls of these days, one row per span (DEDUPE_SQL where a
        day has several files)."""
        ...


class DuckDBEngine:
    name = "duckdb"

    def compute(self, lake: Lake, days: DayFiles) -> dict[str, pl.DataFrame]:
        con = lake.connect()
        try:
            # with the day partition as a DATE column, as Spark infers it from the paths
            con.execute(f"CREATE VIEW calls AS {union_sql(lake, 'calls', days, hive=True)}")
            return {kind: con.sql(sql).pl() for kind, sql in QUERIES.items()}
        finally:
            con.close()


class SparkEngine:
    """Spark SQL in a SparkSession (`master` local[N] or a cluster URL); needs the `spark` extra and Java."""

    name = "spark"

    def __init__(self, master: str = "local[2]"):
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:
            raise LakeError(
                "--engine spark needs pyspark: pip install 'modelmeter[spark]' (and Java 17+)"
            ) from exc
        self.spark = (
            SparkSession.builder.master(master)
            .appName("modelmeter-rollup")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .getOrCreate()
        )
        self.spark.sparkContext.setLogLevel("ERROR")

    def compute(self, lake: Lake, days: DayFiles) -> dict[str, pl.DataFrame]:
        files = [f for day_files in days.by_day.values() for f in day_files]

        # Spark reads s3:// only as s3a:// with the hadoop-aws jars on its classpath (not in pyspark)
        def spark_url(relative: str) -> str:
            return lake.url(relative).replace("s3://", "s3a://", 1)

        raw = (
            self.spark.read.option("mergeSchema", "true")
            .option("basePath", spark_url("calls"))  # so `day` comes from the paths, as a date
            .parquet(*map(spark_url, files))
        )
        raw.createOrReplaceTempView("raw_calls")
        calls = raw
        if any(len(day_files) > 1 for day_files in days.by_day.values()):
            columns = ", ".join(f"`{c}`" for c in raw.columns)
            calls = self.spark.sql(
                DEDUPE_SQL.format(columns=columns, newest=NEWEST["calls"], source="raw_calls")
            )
        # not cached: each query reads only the columns it needs, cheaper than caching every column
        calls.createOrReplaceTempView("calls")
        return {kind: _from_spark(self.spark.sql(sql)) for kind, sql in QUERIES.items()}

    def stop(self) -> None:
        self.spark.stop()


def _from_spark(frame: object) -> pl.DataFrame:
    return pl.from_arrow(frame.toArrow())  # type: ignore[attr-defined,return-value]


def typed(kind: str, frame: pl.DataFrame) -> pl.DataFrame:
    """An engine's result as stored: the same types and row order whatever the engine."""
    if kind == "calls":
        frame = frame.cast(definition.SUM_TYPES)  # type: ignore[arg-type]
    else:
        frame = frame.cast({"bucket": pl.Int32(), "n": pl.Int64()})
    frame = frame.cast({"day": pl.Date(), **{c: pl.String() for c in definition.KEYS if c in frame.columns}})
    return frame.sort(["day", *ORDER[kind]], nulls_last=True)


def fingerprint(lake: Lake, files: list[str]) -> str:
    """Names, sizes and versions of a day's raw calls files: a change means the rollup is stale."""
    digest = hashlib.sha256()
    for relative, version in sorted(lake.versions(files).items()):
        digest.update(f"{relative} {version}\n".encode())
    return digest.hexdigest()[:24]


def rollup_path(kind: str, day: date, fp: str) -> str:
    return f"rollups/{kind}/day={day.isoformat()}/{fp}.parquet"


@dataclass
class RollupResult:
    rolled: list[date]
    current: list[date]  # already up to date: skipped


def closed_days(lake: Lake, today: date | None = None) -> Iterator[tuple[date, list[str]]]:
    today = today or datetime.now(UTC).date()
    for day, files in DayFiles.of(lake, "calls").by_day.items():
        if day < today:
            yield day, files


def roll_up(
    lake: Lake, engine: Engine, *, days: list[date] | None = None, force: bool = False
) -> RollupResult:
    """Write the daily rollups of the closed days (or of `days`) that lack current ones."""
    by_day = DayFiles.of(lake, "calls").by_day
    wanted = [(d, by_day[d]) for d in days if d in by_day] if days is not None else list(closed_days(lake))
    existing = set(lake.files("rollups"))
    result = RollupResult([], [])
    stale: list[tuple[date, list[str], str]] = []
    for day, files in wanted:
        fp = fingerprint(lake, files)
        if not force and all(rollup_path(k, day, fp) in existing for k in KINDS):
            result.current.append(day)
        else:
            stale.append((day, files, fp))
    for start in range(0, len(stale), DAYS_PER_JOB):
        job = stale[start : start + DAYS_PER_JOB]
        frames = {
            k: typed(k, f) for k, f in engine.compute(lake, DayFiles({d: f for d, f, _ in job})).items()
        }
        for day, _, fp in job:
            _write_day(lake, day, fp, frames, existing)
            result.rolled.append(day)
    return result


def _write_day(lake: Lake, day: date, fp: str, frames: dict[str, pl.DataFrame], existing: set[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="modelmeter-rollup-") as scratch:
        for kind in KINDS:
            local = Path(scratch) / f"{kind}.parquet"
            frames[kind].filter(pl.col("day") == day).write_parquet(local)
            lake.put(local, rollup_path(kind, day, fp))
    folders = tuple(f"rollups/{kind}/day={day.isoformat()}/" for kind in KINDS)
    lake.remove([f for f in existing if f.startswith(folders) and not f.endswith(f"/{fp}.parquet")])


def current_rollups(lake: Lake, days: list[date]) -> dict[str, list[str]]:
    """Per kind, the rollup files of those `days` whose fingerprint matches their raw files now."""
    by_day = DayFiles.of(lake, "calls").by_day
    existing = set(lake.files("rollups"))
    found: dict[str, list[str]] = {kind: [] for kind in KINDS}
    for day in days:
        if day not in by_day:
            continue
        fp = fingerprint(lake, by_day[day])
        paths = {kind: rollup_path(kind, day, fp) for kind in KINDS}
        if all(p in existing for p in paths.values()):
            for kind, path in paths.items():
                found[kind].append(path)
    return found
