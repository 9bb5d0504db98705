"""Every process records its calls: forked children that end with `os._exit`, and `multiprocessing`
pools with each start method, closed the usual way (`with Pool() as p:`, which terminates the
workers with SIGTERM). The app is a real script (spawned workers import it again), the calls go to
the mock over real sockets, and the spool goes through the real `modelmeter ingest`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.ingest import rows, run_cli

from modelmeter.instrument.spool import WRITE_DELAY_S
from modelmeter.mock import MockProviders

CALLS = 50
CHILDREN = 5

APP = f"""
import multiprocessing, os, sys, time
import openai
import modelmeter

modelmeter.instrument(spool=os.environ["SPOOL"], endpoints=os.environ["ENDPOINTS"])


def call(i):
    client = openai.OpenAI(base_url=os.environ["OPENAI_BASE"], api_key="sk-proj-FAKE0000", max_retries=0)
    messages = [{{"role": "user", "content": f"call {{i}}"}}]
    client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    return os.getpid()


if __name__ == "__main__":
    how = sys.argv[1]
    call(-1)  # the parent's own call first: its spool is running when the children start
    time.sleep(2 * {WRITE_DELAY_S})  # ... and holds an open file they inherit
    if how == "fork-exit":
        children = []
        for child in range({CHILDREN}):
            pid = os.fork()
            if pid == 0:
                for i in range({CALLS // CHILDREN}):
                    call(child * 1000 + i)
                time.sleep(3 * {WRITE_DELAY_S})  # longer than the window os._exit can lose
                os._exit(0)
            children.append(pid)
        for pid in children:
            os.waitpid(pid, 0)
        print({CHILDREN})
    else:
        with multiprocessing.get_context(how).Pool(2) as pool:
            pids = pool.map(call, range({CALLS}), chunksize=1)
        print(len(set(pids)))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.parametrize("how", ["fork-exit", "fork", "forkserver", "spawn"])
def test_every_call_of_every_process_is_in_calls_once(mock: MockProviders, tmp_path: Path, how: str) -> None:
    script, spool, db = tmp_path / "app.py", tmp_path / "spool", tmp_path / "db.duckdb"
    script.write_text(APP)
    env = dict(os.environ, ENDPOINTS=mock.endpoints, OPENAI_BASE=mock.base_url("openai"), SPOOL=str(spool))
    result = subprocess.run(
        [sys.executable, str(script), how], env=env, capture_output=True, text=True, timeout=100, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    processes = int(result.stdout.strip())
    assert processes >= (CHILDREN if how == "fork-exit" else 1)
    pids = {int(path.name.split("-")[3]) for path in spool.iterdir()}
    assert len(pids) >= processes + 1  # each process wrote files of its own

    ingested = run_cli("ingest", str(spool), "--db", str(db))
    assert ingested.returncode == 0, ingested.stderr
    calls = rows(db, "SELECT response_id, call_id FROM calls")
    served = [call.response_id for call in mock.calls]
    assert len(served) == CALLS + 1 and sorted(c[0] for c in calls) == sorted(served)
    assert len({c[1] for c in calls}) == len(calls)  # no two processes drew the same call ids
