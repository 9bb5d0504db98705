"""The shim's spool when the app dies or the disk fills: what it wrote arrives, what it dropped is
counted and reported. A real app process, a real SIGKILL, a real full disk, the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import openai
import orjson
import pytest
from support.disk import fill, tiny_disk
from support.ingest import rows, run_cli

import modelmeter
from modelmeter.mock import MockProviders

KEY = "sk-proj-FAKE0000000000000000000000000000000000000000"
MESSAGES = [{"role": "user", "content": "hi"}]

APP = textwrap.dedent("""
    import sys, openai, modelmeter
    modelmeter.instrument(spool=sys.argv[1], endpoints=sys.argv[3], rotate_seconds=1.5)
    client = openai.OpenAI(base_url=sys.argv[2], api_key=sys.argv[4], max_retries=0)
    while True:
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
""")


def _span_ids_written(spool: Path) -> set[str]:
    """Span ids of the complete lines in every spool file, open or closed."""
    found = set()
    for path in spool.glob("spans-*"):
        data = path.read_bytes()
        for line in data[: data.rfind(b"\n") + 1].splitlines():
            found.add(orjson.loads(line)["span_id"])
    return found


def test_an_app_killed_mid_run_loses_none_of_the_spans_it_wrote(mock: MockProviders, tmp_path: Path) -> None:
    spool, db = tmp_path / "spool", tmp_path / "db.duckdb"
    app = subprocess.Popen(
        [sys.executable, "-c", APP, str(spool), mock.base_url("openai"), mock.endpoints, KEY],
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while len(_span_ids_written(spool)) < 100 and time.monotonic() < deadline:
            assert app.poll() is None, app.stderr.read() if app.stderr else ""
            time.sleep(0.2)
        while not list(spool.glob("*.open")):  # kill it while it holds an open file
            time.sleep(0.01)
    finally:
        app.kill()
        app.wait()
    written = _span_ids_written(spool)
    assert list(spool.glob("*.open")), "the kill left an open file (what this test is about)"

    done = run_cli("ingest", str(spool), "--db", str(db))

    assert done.returncode in (0, 3), done.stderr
    stored = [r[0] for r in rows(db, "SELECT span_id FROM calls")]
    assert len(stored) == len(set(stored))
    assert written <= set(stored), f"{len(written - set(stored))} written spans are missing"
    assert not list(spool.glob("*.open"))


def test_spans_dropped_on_a_full_disk_are_counted_stored_and_reported_as_missing_calls(
    mock: MockProviders, tmp_path: Path
) -> None:
    db = tmp_path / "db.duckdb"
    client = openai.OpenAI(base_url=mock.base_url("openai"), api_key=KEY, max_retries=0)
    with tiny_disk(tmp_path / "disk") as disk:
        spool = disk / "spool"
        modelmeter.instrument(spool=str(spool), endpoints=mock.endpoints)
        try:
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
            modelmeter.flush()
            filler = fill(disk)
            for _ in range(7):  # the app is served as always; its spans cannot be spooled
                client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
            modelmeter.flush()
            filler.unlink()  # space returns: the counts are written with the next spans
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
            modelmeter.flush()
        finally:
            modelmeter.uninstrument()
        lines = [orjson.loads(x) for p in spool.glob("*.ndjson") for x in p.read_bytes().splitlines()]
        counted = [x for x in lines if x.get("kind") == "dropped"]
        assert [(c["reason"], c["count"], c["pid"]) for c in counted] == [("disk_full", 7, os.getpid())]
        done = run_cli("ingest", str(spool), "--db", str(db))
        again = run_cli("ingest", str(spool), "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert "7 calls were not recorded" in done.stderr
    assert again.returncode == 0
    assert rows(db, "SELECT count(*) FROM calls") == [(2,)]
    assert rows(db, "SELECT reason, count FROM dropped") == [("disk_full", 7)], "counted once"
    for kind in ("cost", "weekly"):
        report = run_cli("report", kind, "--db", str(db), "--format", "md")
        assert report.returncode == 0, report.stderr
        assert "7 calls were not recorded" in report.stdout, kind


@pytest.mark.parametrize("umask", [0o000, 0o022])
def test_the_shims_spool_is_private_whatever_the_umask(
    mock: MockProviders, tmp_path: Path, umask: int
) -> None:
    spool = tmp_path / "spool"
    script = f"import os; os.umask({umask})\n" + APP.replace("while True:", "for _ in range(3):")
    done = subprocess.run(
        [sys.executable, "-c", script, str(spool), mock.base_url("openai"), mock.endpoints, KEY],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    files = list(spool.iterdir())
    assert files and spool.stat().st_mode & 0o777 == 0o700
    assert {f.stat().st_mode & 0o777 for f in files} == {0o600}
