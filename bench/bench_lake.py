"""Benchmark: the Parquet lake. Write throughput and peak memory, the weekly page from the lake (raw,
and with daily rollups) against a DuckDB file, and the daily rollups on DuckDB against Spark local[2].

    .venv/bin/python bench/bench_lake.py [--rows 10000000] [--spool-rows 1000000] [--dir PATH]

Data: the synthetic calls of tests/support/synthetic_calls.py (14 days), generated once into a DuckDB
file under --dir. Every measured step runs in a fresh Python process (CPU time of all threads, wall
time, and that process's peak resident memory, VmHWM; for Spark the JVM's is not included).
- export: the lake's write step (a run's calls and attempts, one Parquet file per day and table) over
  --rows calls;
- ingest --lake: the whole path (read, normalise, price into a scratch DuckDB file, then export) over a
  spool of --spool-rows calls (writing a 10M-call spool takes ~10 GB of NDJSON);
- the weekly page from the DuckDB file, from the lake before rollups, and from the lake with them;
- rollup of every day, DuckDB then Spark local[2] (Spark's session start is reported separately).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

# the synthetic calls and spool generators are shared with the tests
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

_CHILD = """
import json, sys, time
args = json.loads(sys.argv[1])
t0 = time.perf_counter()
from pathlib import Path
step = args["step"]
extra = {}
if step == "export":
    from modelmeter.lake.location import Lake
    from modelmeter.lake.write import export
    start, cpu = time.perf_counter(), time.process_time()
    written = export(Path(args["db"]), Lake.at(args["lake"]), Path(args["scratch"]))
    extra["files"] = len(written)
elif step == "ingest":
    from modelmeter.lake.location import Lake
    from modelmeter.lake.write import ingest_to_lake
    start, cpu = time.perf_counter(), time.process_time()
    result = ingest_to_lake([args["spool"]], Lake.at(args["lake"]))
    extra["calls"] = result.summary.calls_added
elif step == "weekly":
    from modelmeter.reports import ReportParams, build_report, open_db
    from modelmeter.reports.source import open_lake
    start, cpu = time.perf_counter(), time.process_time()
    con = open_lake(args["lake"]) if args.get("lake") else open_db(Path(args["db"]))
    report = build_report("weekly", con, ReportParams())
    extra["based_on"] = report.based_on
elif step == "rollup":
    from modelmeter.lake.location import Lake
    from modelmeter.lake.rollup import DuckDBEngine, SparkEngine, roll_up
    from modelmeter.lake.read import DayFiles
    lake = Lake.at(args["lake"])
    ready = time.perf_counter()
    engine = DuckDBEngine() if args["engine"] == "duckdb" else SparkEngine("local[2]")
    extra["engine_start_seconds"] = time.perf_counter() - ready
    start, cpu = time.perf_counter(), time.process_time()
    result = roll_up(lake, engine, days=list(DayFiles.of(lake, "calls").by_day), force=True)
    extra["days"] = len(result.rolled)
elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
# VmHWM: this process's own high-water mark (ru_maxrss would carry the parent's over from fork)
peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) / 1024
print(json.dumps({"seconds": elapsed, "cpu_seconds": cpu, "peak_rss_mb": peak, **extra}))
"""


def measure(step: str, **args: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps({"step": step, **args})],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def show(label: str, run: dict[str, float], rows: int | None = None) -> None:
    rate = f"  {rows / run['seconds']:,.0f} calls/s" if rows else ""
    rest = {k: v for k, v in run.items() if k not in ("seconds", "cpu_seconds", "peak_rss_mb")}
    print(
        f"{label:34s} {run['seconds']:7.2f} s  CPU {run['cpu_seconds']:7.2f} s  "
        f"peak RSS {run['peak_rss_mb']:6,.0f} MB{rate}  {rest if rest else ''}  "
        f"load {os.getloadavg()[0]:.1f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--spool-rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/modelmeter-bench-lake"))
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--no-spark", action="store_true")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    db = args.dir / f"calls-{args.rows}.duckdb"
    if not db.exists():
        from support.synthetic_calls import create_database

        start = time.perf_counter()
        create_database(str(db), args.rows, days=args.days).close()
        print(f"generated {args.rows:,} calls in {time.perf_counter() - start:.1f} s -> {db}")
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} before the runs")

    lake = args.dir / "lake"
    shutil.rmtree(lake, ignore_errors=True)
    scratch = args.dir / "scratch"
    scratch.mkdir(exist_ok=True)
    show(
        f"export {args.rows:,} calls to the lake",
        measure("export", db=str(db), lake=str(lake), scratch=str(scratch)),
        args.rows,
    )
    size = sum(p.stat().st_size for p in lake.rglob("*.parquet"))
    print(
        f"lake size {size / 2**20:,.0f} MB ({size / args.rows:.0f} bytes per call), "
        f"DuckDB file {db.stat().st_size / 2**20:,.0f} MB"
    )

    if args.spool_rows:
        spool_dir = args.dir / f"spool-{args.spool_rows}"
        if not spool_dir.exists():
            from support.lake import synthetic_spool

            synthetic_spool(spool_dir, args.spool_rows, days=args.days, files=8)
        spool_lake = args.dir / "spool-lake"
        shutil.rmtree(spool_lake, ignore_errors=True)
        show(
            f"ingest --lake {args.spool_rows:,} spool calls",
            measure("ingest", spool=str(spool_dir / "spool"), lake=str(spool_lake)),
            args.spool_rows,
        )

    def weekly(label: str, **where: str) -> float:
        runs = [measure("weekly", **where) for _ in range(args.repeat)]
        best = min(runs, key=lambda r: r["seconds"])
        show(label, best)
        return best["seconds"]

    from_db = weekly("weekly page, DuckDB file", db=str(db))
    from_raw = weekly("weekly page, lake (raw days)", lake=str(lake))
    duck = measure("rollup", lake=str(lake), engine="duckdb")
    show("rollup all days, DuckDB", duck, args.rows)
    from_rollups = weekly("weekly page, lake with rollups", lake=str(lake))
    print(
        f"ratios: lake raw / DuckDB file {from_raw / from_db:.2f}; "
        f"lake with rollups / DuckDB file {from_rollups / from_db:.2f}"
    )
    if not args.no_spark:
        spark = measure("rollup", lake=str(lake), engine="spark")
        show("rollup all days, Spark local[2]", spark, args.rows)
        print(f"ratio: Spark local[2] / DuckDB rollup {spark['seconds'] / duck['seconds']:.1f}")


if __name__ == "__main__":
    main()
