"""A tiny run of bench/bench_ingest.py, so the benchmark keeps working (its numbers are not checked)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_ingest.py"


def test_the_ingest_benchmark_runs_end_to_end_and_the_receiver_loses_nothing() -> None:
    command = [sys.executable, str(BENCH), "--spans", "3000", "--files", "3", "--receiver-spans", "600"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ingest"]["spans"] == 3000
    assert report["ingest"]["quarantined"] == 0
    assert report["receiver"]["failed_requests"] == 0
    assert report["receiver"]["lost"] == 0
