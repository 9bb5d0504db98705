"""The demo week, built once per test session and shared by tests/demo/test_week.py and test_notebooks.py.

Both modules declare a session fixture that calls `demo_run_once`; the cache here makes the second
one reuse the first one's run, so the ~30 s demo runs once however the tests are selected.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class DemoRun:
    """One `modelmeter demo` run: its home, its database and everything it printed."""

    home: Path
    db: Path
    stdout: str


def modelmeter_command() -> list[str]:
    """The installed console script next to the interpreter running the tests."""
    return [str(Path(sys.executable).with_name("modelmeter"))]


def demo_run_once(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    return _demo_run(tmp_path_factory.getbasetemp())


@functools.cache
def _demo_run(basetemp: Path) -> DemoRun:
    home = basetemp / "demo-home"
    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1"}
    env.pop("MODELMETER_HOME", None)
    done = subprocess.run(
        [*modelmeter_command(), "demo", "--home", str(home)],
        capture_output=True,
        text=True,
        env=env,
        timeout=110,
        check=False,
    )
    assert done.returncode == 0, f"modelmeter demo failed:\n{done.stdout}\n{done.stderr}"
    return DemoRun(home=home, db=home / "modelmeter.duckdb", stdout=done.stdout)
