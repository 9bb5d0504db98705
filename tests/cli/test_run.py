"""`modelmeter run`: an unchanged program, run by the real CLI, gets measured; its exit code survives."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import orjson

from modelmeter.mock import MockProviders

CLI = str(Path(sys.executable).with_name("modelmeter"))

APP = textwrap.dedent(
    """
    import os, sys
    import anthropic, openai
    hi = [{"role": "user", "content": "hi"}]
    gpt = openai.OpenAI(base_url=os.environ["OPENAI_BASE"], api_key="sk-proj-FAKE0000000000", max_retries=0)
    gpt.chat.completions.create(model="gpt-4o-mini", messages=hi)
    claude = anthropic.Anthropic(base_url=os.environ["ANTHROPIC_BASE"], api_key="sk-ant-api03-FAKE0000")
    claude.messages.create(model="claude-haiku-4-5", max_tokens=32, messages=hi)
    left_open = gpt.chat.completions.create(model="gpt-4o-mini", messages=hi, stream=True)
    next(iter(left_open))  # one chunk read; the stream is still open when the program exits
    print("app done")
    sys.exit(7)
    """
)


def test_run_instruments_an_unchanged_program_and_keeps_its_exit_code(
    mock: MockProviders, tmp_path: Path
) -> None:
    app = tmp_path / "app.py"
    app.write_text(APP)
    spool = tmp_path / "spool"
    env = dict(os.environ, OPENAI_BASE=mock.base_url("openai"), ANTHROPIC_BASE=mock.base_url("anthropic"))
    env.pop("MODELMETER_WORKFLOW", None)
    result = subprocess.run(
        [
            CLI,
            "run",
            "--workflow",
            "nightly",
            "--team",
            "core",
            "--spool",
            str(spool),
            "--endpoints",
            mock.endpoints,
            "--",
            sys.executable,
            str(app),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 7, result.stderr
    assert "app done" in result.stdout
    assert not list(spool.glob("*.open"))
    records = [orjson.loads(line) for p in spool.glob("*.ndjson") for line in p.read_bytes().splitlines()]
    assert sorted(r["provider"] for r in records) == ["anthropic", "openai", "openai"]
    (left_open,) = [r for r in records if r["streaming"]]
    assert (left_open["truncated"], left_open["attributes"].get("modelmeter.end")) == (True, "abandoned")
    assert {(r["workflow"], r["team"], r["service"]) for r in records} == {("nightly", "core", "app")}
    assert sorted(r["response_id"] for r in records) == sorted(c.response_id or "" for c in mock.calls)


def test_run_without_a_command_explains_itself() -> None:
    result = subprocess.run([CLI, "run"], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 64
    assert "--" in result.stderr
