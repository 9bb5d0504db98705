"""Instructions the shim adds per call and per stream chunk, counted by valgrind's callgrind.

    .venv/bin/python bench/bench_shim_instructions.py     # about 10 minutes on 2 cores

Times on this machine drift by a factor of two within a minute (other tenants, clock speed), so
bench_shim.py's medians move by tens of µs between runs. Instruction counts do not: the same
program with the same input counts the same, whatever else the machine is doing. They are not
time (our code may run at a different speed per instruction than the SDK's), so both are reported.

Each count is one whole process (imports included) making the in-memory calls of bench_shim.py
(the real openai SDK, answered from memory): once with FEW calls, once with MANY; the difference
divided by MANY - FEW is the count per call, without start-up. Threads are counted apart: the
main thread is the app's; the others are the spool's writer (the measured process waits until that
thread has written every span itself). Needs `valgrind` (Debian package).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
from pathlib import Path

# case -> (FEW, MANY) calls per process; JSON calls are cheap, so more of them
CASES = {"json": (50, 250), "stream-5": (20, 80), "stream-50": (20, 80)}
WARMUP = 20
_TOTALS = re.compile(r"^totals: (\d+)", re.MULTILINE)


def _make_calls(case: str, instrumented: bool, calls: int) -> None:
    """The measured process: WARMUP + `calls` in-memory calls of one case; instrumented, it then
    waits until the spool's own thread has written every record (a flush would do that work on this
    thread, where it would count as the app's)."""
    sys.path.insert(0, os.path.dirname(__file__))
    import bench_shim

    import modelmeter
    from modelmeter.instrument import spool

    client = bench_shim._canned_client()
    call = (
        bench_shim._json_call(client)
        if case == "json"
        else bench_shim._stream_call(client, int(case.rpartition("-")[2]))
    )
    if instrumented:
        spool_dir = tempfile.mkdtemp()
        modelmeter.instrument(spool=spool_dir)
    for _ in range(WARMUP + calls):
        call()
    if instrumented:
        deadline = time.monotonic() + 600
        while _lines_in(spool_dir) < WARMUP + calls and time.monotonic() < deadline:
            time.sleep(spool.WRITE_DELAY_S)
        modelmeter.uninstrument()


def _lines_in(directory: str) -> int:
    return sum(path.read_bytes().count(b"\n") for path in Path(directory).iterdir())


Counts = tuple[int, int]  # instructions of the main (app's) thread, of all other threads


def _count(case: str, instrumented: bool, calls: int) -> Counts:
    """Instructions of one whole measured process, per thread (callgrind numbers threads from 1)."""
    with tempfile.TemporaryDirectory() as out:
        command = ["valgrind", "--tool=callgrind", "--separate-threads=yes"]
        command += [f"--callgrind-out-file={out}/cg", sys.executable]
        command += [__file__, "--child", case, "on" if instrumented else "off", str(calls)]
        subprocess.run(command, capture_output=True, text=True, check=True)
        totals = {}
        for path in Path(out).glob("cg-*"):
            match = _TOTALS.search(path.read_text(errors="replace"))
            if match is None:
                raise RuntimeError(f"no instruction count in {path.name}")
            totals[int(path.name.rpartition("-")[2])] = int(match.group(1))
    main_thread = totals.pop(1)
    return main_thread, sum(totals.values())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--child", nargs=3, metavar=("CASE", "ON_OFF", "CALLS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        case, on_off, calls = args.child
        _make_calls(case, on_off == "on", int(calls))
        return

    jobs = [(case, on, n) for case, counts in CASES.items() for on in (False, True) for n in counts]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        counts = dict(zip(jobs, pool.map(lambda job: _count(*job), jobs), strict=True))

    per_call: dict[tuple[str, bool], tuple[float, float]] = {}
    for case, (few, many) in CASES.items():
        for on in (False, True):
            (app_many, rest_many), (app_few, rest_few) = counts[case, on, many], counts[case, on, few]
            per_call[case, on] = ((app_many - app_few) / (many - few), (rest_many - rest_few) / (many - few))

    print(
        "| case | bare instructions/call | instrumented, app's thread | added on the app's thread "
        "| added on other threads (spool) | added in all | added in all, % |"
    )
    print("|---|---|---|---|---|---|---|")
    for case in CASES:
        (bare_app, bare_rest), (inst_app, inst_rest) = per_call[case, False], per_call[case, True]
        added_app, added_rest = inst_app - bare_app, inst_rest - bare_rest
        total = bare_app + bare_rest
        cells = [case, f"{total:,.0f}", f"{inst_app:,.0f}", f"**{added_app:+,.0f}**", f"{added_rest:+,.0f}"]
        cells += [f"{added_app + added_rest:+,.0f}", f"{(added_app + added_rest) / total:+.1%}"]
        print("| " + " | ".join(cells) + " |")

    def app_added(case: str) -> float:
        return per_call[case, True][0] - per_call[case, False][0]

    per_chunk = (app_added("stream-50") - app_added("stream-5")) / 45
    print(f"\nOne more stream chunk, app's thread: {per_chunk:+,.0f} instructions ((50 - 5 chunks) / 45).")
    valgrind = subprocess.run(["valgrind", "--version"], capture_output=True, text=True).stdout.strip()
    print(
        f"\nPython {platform.python_version()}, {platform.machine()}, {valgrind}; "
        f"openai {version('openai')}, httpx2 {version('httpx2')}, modelmeter {version('modelmeter')}; "
        f"calls per process (few, many): {CASES}, after {WARMUP} warm-up calls."
    )


if __name__ == "__main__":
    main()
