"""Instructions the shim adds per call and per stream chunk, counted by valgrind's callgrind.

    .venv/bin/python bench/bench_shim_instructions.py     # about 10 minutes on 2 cores

Times on this machine drift by a factor of two within a minute (other tenants, clock speed), so
bench_shim.py's medians move by tens of µs between runs. Instruction counts do not: the same
program with the same input counts the same, whatever else the machine is doing. They are not
time (our code may run at a different speed per instruction than the SDK's), so both are reported.

Each count is one whole process (imports included) making the in-memory calls of bench_shim.py
(the real openai SDK, answered from memory): once with FEW calls, once with MANY; the difference
divided by MANY - FEW is the count per call, without start-up. All threads are counted, so the
spool thread's work is included. Needs `valgrind` (Debian package).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version

# case -> (FEW, MANY) calls per process; JSON calls are cheap, so more of them
CASES = {"json": (50, 250), "stream-5": (20, 80), "stream-50": (20, 80)}
WARMUP = 20
_COLLECTED = re.compile(r"Collected : (\d+)")


def _make_calls(case: str, instrumented: bool, calls: int) -> None:
    """The measured process: WARMUP + `calls` in-memory calls of one case."""
    sys.path.insert(0, os.path.dirname(__file__))
    import bench_shim

    import modelmeter

    client = bench_shim._canned_client()
    call = (
        bench_shim._json_call(client)
        if case == "json"
        else bench_shim._stream_call(client, int(case.rpartition("-")[2]))
    )
    if instrumented:
        modelmeter.instrument(spool=tempfile.mkdtemp())
    for _ in range(WARMUP + calls):
        call()
    if instrumented:
        modelmeter.uninstrument()


def _count(case: str, instrumented: bool, calls: int) -> int:
    """Instructions of one whole measured process."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable]
    command += [__file__, "--child", case, "on" if instrumented else "off", str(calls)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    match = _COLLECTED.search(done.stderr)
    if match is None:
        raise RuntimeError(f"no instruction count from callgrind:\n{done.stderr[-2000:]}")
    return int(match.group(1))


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

    per_call: dict[tuple[str, bool], float] = {}
    for case, (few, many) in CASES.items():
        for on in (False, True):
            per_call[case, on] = (counts[case, on, many] - counts[case, on, few]) / (many - few)

    print("| case | bare instructions/call | instrumented | added/call | added % |")
    print("|---|---|---|---|---|")
    for case in CASES:
        bare, inst = per_call[case, False], per_call[case, True]
        added = inst - bare
        cells = [case, f"{bare:,.0f}", f"{inst:,.0f}", f"**{added:+,.0f}**", f"{added / bare:+.1%}"]
        print("| " + " | ".join(cells) + " |")
    long_added = per_call["stream-50", True] - per_call["stream-50", False]
    short_added = per_call["stream-5", True] - per_call["stream-5", False]
    per_chunk = (long_added - short_added) / 45
    print(f"\nOne more stream chunk: {per_chunk:+,.0f} instructions (stream-50 added - stream-5 added) / 45.")
    valgrind = subprocess.run(["valgrind", "--version"], capture_output=True, text=True).stdout.strip()
    print(
        f"\nPython {platform.python_version()}, {platform.machine()}, {valgrind}; "
        f"openai {version('openai')}, httpx2 {version('httpx2')}, modelmeter {version('modelmeter')}; "
        f"calls per process (few, many): {CASES}, after {WARMUP} warm-up calls."
    )


if __name__ == "__main__":
    main()
