"""The README's shell blocks are what CI runs (scripts/smoke-readme-install runs them on a clean install);
these checks keep them runnable from any directory without building a venv."""

from __future__ import annotations

import importlib.util
import re
from importlib.machinery import SourceFileLoader
from pathlib import Path

from modelmeter.cli import app
from modelmeter.demo.runner import DEMO_OUTPUTS

ROOT = Path(__file__).parents[2]
_loader = SourceFileLoader("smoke", str(ROOT / "scripts" / "smoke-readme-install"))
smoke = importlib.util.module_from_spec(importlib.util.spec_from_loader("smoke", _loader))  # type: ignore[arg-type]
_loader.exec_module(smoke)
BLOCKS = smoke.readme_blocks((ROOT / "README.md").read_text())
RUN = [body for directive, body in BLOCKS if not directive.startswith("skip")]


def test_the_set_up_block_installs_the_demo_extra_and_nothing_for_tests() -> None:
    setup = RUN[0]
    assert "pip install -e '.[demo]'" in setup and "test" not in setup
    assert "\n./scripts/smoke-readme-install\n" in (ROOT / ".ci" / "run").read_text()


def test_every_command_in_the_blocks_exists() -> None:
    commands = {command.name for command in app.registered_commands}
    used = set(re.findall(r"modelmeter (\w+)", "\n".join(RUN)))
    assert used and used <= commands, used - commands


def test_after_the_export_paths_are_absolute_and_name_files_the_demo_writes() -> None:
    export = next(i for i, body in enumerate(RUN) if "export MODELMETER_HOME" in body)
    assert 'MODELMETER_HOME="$PWD/' in RUN[export]
    tour = "\n".join(RUN[export + 1 :])
    assert "modelmeter-demo/" not in tour  # a relative path breaks after a cd
    for name in re.findall(r"\$MODELMETER_HOME/([\w.-]+)", tour):
        assert name in DEMO_OUTPUTS, name


def test_the_script_runs_each_block_and_the_tour_again_from_elsewhere(tmp_path: Path) -> None:
    script = smoke.readme_script(BLOCKS, tmp_path)
    assert "./scripts/test" not in script
    assert script.count("\n   modelmeter report inventory\n") == 2  # the block itself, not its echo
    assert f"cd {tmp_path}" in script
