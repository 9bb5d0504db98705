"""Benchmark: the weekly report over 10M synthetic calls; goal <= 2 s and <= 1 GB peak memory.

    .venv/bin/python bench/bench_reports.py [--rows 10000000] [--db PATH] [--kinds weekly,cost,...]

The database is generated in DuckDB with range() (kept at --db for re-runs). Each report then runs
in a fresh Python process, timed from just before build_report to just after it returns (the
figures below exclude interpreter start and imports, which are printed separately), and its peak
resident memory is that process's ru_maxrss. CPU time (all threads; steadier than wall time on a shared
machine) is measured over the same span.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

# the synthetic calls generator is shared with the report tests
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

# the tier policy the tests use, so the weekly page includes its tiers section
POLICY = """
[tiers.economy]
models = ["openai/gpt-4o-mini", "google/gemini-2.5-flash*", "mistral/*", "openai/text-embedding-3-small"]
[tiers.standard]
models = ["anthropic/claude-haiku-*", "mistral/*", "openai/gpt-4o-mini", "google/gemini-2.5-flash"]
[tiers.premium]
max_input_per_1m = 5.0
[workflows]
sales-email = "standard"
"""

_CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
from pathlib import Path
from modelmeter.reports import ReportParams, build_report, open_db
imported = time.perf_counter() - t0
con = open_db(Path(sys.argv[1]))
start, cpu_start = time.perf_counter(), time.process_time()
report = build_report(sys.argv[2], con, ReportParams(policy=Path(sys.argv[3])))
elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"kind": sys.argv[2], "seconds": elapsed, "cpu_seconds": cpu, "import_seconds": imported,
                  "based_on": report.based_on, "peak_rss_mb": peak}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--db", type=Path, default=Path("/tmp/modelmeter-bench.duckdb"))
    parser.add_argument("--kinds", default="weekly")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not args.db.exists():
        from support.synthetic_calls import create_database

        start = time.perf_counter()
        create_database(str(args.db), args.rows, days=args.days).close()
        print(
            f"generated {args.rows:,} calls in {time.perf_counter() - start:.1f} s -> {args.db} "
            f"({args.db.stat().st_size / 2**20:,.0f} MB)"
        )
    policy = args.db.with_suffix(".tiers.toml")
    policy.write_text(POLICY)
    print(f"load average before the runs: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(
        f"python {platform.python_version()}, duckdb {version('duckdb')}, polars {version('polars')}, "
        f"numpy {version('numpy')}, {platform.machine()} {platform.system()}"
    )
    for kind in args.kinds.split(","):
        runs = []
        for _ in range(args.repeat):
            out = subprocess.run(
                [sys.executable, "-c", _CHILD, str(args.db), kind, str(policy)],
                capture_output=True,
                text=True,
                check=True,
            )
            runs.append(json.loads(out.stdout))
        best = min(runs, key=lambda r: r["seconds"])
        timings = ", ".join(f"{r['seconds']:.2f}" for r in runs)
        cpu = ", ".join(f"{r['cpu_seconds']:.2f}" for r in runs)
        peak = max(r["peak_rss_mb"] for r in runs)
        print(
            f"{kind:10s} calls in scope {best['based_on']:>11,}  best {best['seconds']:.2f} s "
            f"median {statistics.median(r['seconds'] for r in runs):.2f} s (runs: {timings}; CPU s: {cpu})  "
            f"peak RSS {peak:,.0f} MB  imports {best['import_seconds']:.2f} s  "
            f"load average after {os.getloadavg()[0]:.2f}"
        )


if __name__ == "__main__":
    main()
