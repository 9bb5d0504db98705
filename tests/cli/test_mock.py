"""`modelmeter mock` runs in a real subprocess, prints where the servers are, and documents every knob."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import openai

from modelmeter.mock import KNOB_HELP

MODELMETER = str(Path(sys.executable).with_name("modelmeter"))


def test_mock_command_prints_endpoints_and_serves_a_real_sdk_call(fake_keys: dict[str, str]) -> None:
    process = subprocess.Popen(
        [MODELMETER, "mock", "--port", "0", "--vendor", "openai", "--vendor", "anthropic", "--chunks", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        assert process.stdout is not None
        line = ""
        for line in process.stdout:
            if line.startswith("MODELMETER_ENDPOINTS="):
                break
        endpoints = dict(item.split("=", 1)[::-1] for item in line.strip().split("=", 1)[1].split(","))
        assert set(endpoints) == {"openai", "anthropic"}
        assert all(re.fullmatch(r"http://127\.0\.0\.1:\d+", url) for url in endpoints.values())
        client = openai.OpenAI(
            base_url=endpoints["openai"] + "/v1", api_key=fake_keys["openai"], max_retries=0
        )
        reply = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
        assert len((reply.choices[0].message.content or "").split()) == 3
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert process.returncode == 0


def test_mock_help_explains_every_knob_with_a_header_example() -> None:
    result = subprocess.run(
        [MODELMETER, "mock", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "250"},
    )
    for knob in KNOB_HELP:
        assert f"x-mock-{knob.replace('_', '-')}:" in result.stdout
        assert f"@{knob}=" not in result.stdout  # knobs never ride in the model name
        assert f"--{knob.replace('_', '-')}" in result.stdout


def test_mock_command_rejects_an_unknown_fault() -> None:
    result = subprocess.run(
        [MODELMETER, "mock", "--fault", "teapot"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 64 and "unknown fault" in result.stderr
