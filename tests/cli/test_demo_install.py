"""The demo on an install without its extras: one line with the install command, nothing left behind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from modelmeter.demo import DemoError, parts, runner

BLOCK_SDKS = "import sys\nfor name in {sdks!r}: sys.modules[name] = None  # as if not installed\n"


def test_the_demo_without_its_sdks_says_how_to_install_them_and_writes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "demo-home"
    script = BLOCK_SDKS.format(sdks=parts.SDKS) + "from modelmeter.cli import main\nmain()\n"
    done = subprocess.run(
        [sys.executable, "-c", script, "demo", "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "pip install 'modelmeter[demo]'" in line and "openai" in line
    assert not home.exists()  # so a retry after installing is not refused as "not empty"


def test_a_demo_that_fails_midway_removes_its_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_replay(spool: Path, *_args: object) -> None:
        spool.mkdir(parents=True)
        (spool / "half-written.jsonl").write_text("{}\n")
        raise DemoError("an app worker failed: ImportError")

    monkeypatch.setattr(runner, "_replay", failing_replay)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(DemoError):
        runner.run_demo(tmp_path, force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
