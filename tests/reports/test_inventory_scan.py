"""Static meets runtime: a codebase holding the demo's own (fake) keys, scanned into a copy of the
demo's database, and `report inventory` saying where the code holds each key seen at runtime."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import duckdb
import pytest
from support.demo import DemoRun, demo_run_once, modelmeter_command

from modelmeter.demo.app import Deployment
from modelmeter.instrument.keys import fingerprint

STALE_KEY = "sk-proj-FAKEstaleKEYneverUSED0123456789abcd"


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    return demo_run_once(tmp_path_factory)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1"}
    return subprocess.run(
        [*modelmeter_command(), *args], capture_output=True, text=True, env=env, timeout=120
    )


def _inventory(db: Path) -> dict[str, Any]:
    done = _run("report", "inventory", "--db", str(db), "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _write_codebase(root: Path) -> dict[str, str]:
    """Two units holding the demo's keys as its runtime used them, and a key nothing used."""
    keys = Deployment({}).key
    finance = root / "finance"
    finance.mkdir(parents=True)
    (finance / "pyproject.toml").write_text('[project]\nname = "finance-extract"\n')
    (finance / ".env").write_text(f"OPENAI_API_KEY={keys('openai', 'finance')}\n")
    (finance / "extract.py").write_text(
        "import openai\nfrom modelmeter import tag\n\nclient = openai.OpenAI()\n\n"
        "with tag(workflow='field-extraction'):\n"
        "    client.chat.completions.create(model='gpt-4.1-nano', messages=[])\n"
    )
    notes = root / "notes"
    notes.mkdir()
    (notes / "Dockerfile").write_text("FROM python:3.12\n")
    (notes / "summarise.py").write_text(
        f"import anthropic\n\nclaude = anthropic.Anthropic(api_key='{keys('anthropic', 'operations')}')\n"
    )
    platform = root / "platform"
    platform.mkdir()
    (platform / "package.json").write_text('{"name": "northwind-platform"}')  # the calls' service
    (root / "legacy.py").write_text(f"KEY = '{STALE_KEY}'\n")
    return {
        "finance": fingerprint(keys("openai", "finance")),
        "operations": fingerprint(keys("anthropic", "operations")),
    }


def test_keys_at_runtime_are_found_in_the_code_and_units_meet_their_workflows(
    demo_run: DemoRun, tmp_path: Path
) -> None:
    db = tmp_path / "copy.duckdb"
    shutil.copy(demo_run.db, db)
    prints = _write_codebase(tmp_path / "code")
    scan = _run("scan", str(tmp_path / "code"), "--db", str(db))
    assert scan.returncode == 3, scan.stderr  # literal keys
    for secret_free in (scan.stdout, scan.stderr):
        assert "DEMO" not in secret_free  # the demo's keys contain DEMO: never printed
    report = _inventory(db)
    held = {row["key_fingerprint"]: row for row in report["tables"]["keys_in_code"]["rows"]}
    with duckdb.connect(str(db), read_only=True) as con:
        calls = dict(con.execute("SELECT key_fingerprint, count(*) FROM calls GROUP BY 1").fetchall())
    assert set(held) == {k for k in calls if k is not None}  # every runtime key, found or not
    assert held[prints["finance"]]["held_in"] == "finance: finance/.env:1"
    assert held[prints["finance"]]["calls"] == calls[prints["finance"]]
    assert held[prints["finance"]]["workflows"] == "field-extraction"
    assert held[prints["operations"]]["held_in"] == "notes: notes/summarise.py:3"
    others = [row for key, row in held.items() if key not in prints.values()]
    assert others and all(row["held_in"] == "not in the scanned code" for row in others)
    [stale] = report["tables"]["keys_not_seen"]["rows"]
    assert (stale["key_fingerprint"], stale["held_in"]) == (fingerprint(STALE_KEY), ".: legacy.py:1")
    units = {row["unit"]: row for row in report["tables"]["units"]["rows"]}
    assert (units["finance"]["workflows"], units["finance"]["told_by"]) == (
        "field-extraction",
        "key, tag in code",
    )
    assert units["finance"]["verdict"] == "direct keys"
    assert units["notes"]["workflows"] == "meeting-notes"  # the operations team's anthropic key
    assert units["."]["workflows"] is None
    with duckdb.connect(str(db), read_only=True) as con:
        every = con.execute(
            "SELECT string_agg(DISTINCT workflow, ', ' ORDER BY workflow) FROM calls"
        ).fetchone()
    assert every is not None
    assert (units["platform"]["workflows"], units["platform"]["told_by"]) == (every[0], "service name")
    plan = _run("report", "plan", "--db", str(db), "--format", "json")
    assert plan.returncode == 0, plan.stderr
    in_code = {
        row["workflow"]: row["in_code"] for row in json.loads(plan.stdout)["tables"]["changes"]["rows"]
    }
    assert in_code["field-extraction"] == "finance, platform"
    assert in_code["meeting-notes"] == "notes, platform"


def test_without_a_stored_scan_the_inventory_says_how_to_get_one(demo_run: DemoRun) -> None:
    report = _inventory(demo_run.db)
    assert "keys_in_code" not in report["tables"]
    assert any("modelmeter scan PATH --db FILE" in note for note in report["notes"])
