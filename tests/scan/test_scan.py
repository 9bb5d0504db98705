"""`modelmeter scan`: a static inventory that finds SDKs, models, key variables and literal keys,
and never prints a secret."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from modelmeter.instrument.keys import fingerprint

MODELMETER = str(Path(sys.executable).with_name("modelmeter"))
FAKE_KEY = "sk-proj-FAKEscanCANARY0123456789abcdefWXYZ"


def _write_app(root: Path) -> None:
    (root / "svc").mkdir()
    (root / "svc" / "classify.py").write_text(
        "import os\nfrom openai import OpenAI\nimport anthropic\n\n"
        "client = OpenAI(api_key=os.environ['OPENAI_API_KEY'])\n"
        "MODEL = 'gpt-4o-mini'\n"
        "claude = anthropic.Anthropic()\n"
        "claude.messages.create(model='claude-sonnet-4-5-20250929', max_tokens=10, messages=[])\n"
    )
    (root / "svc" / "gateway.ts").write_text(
        "import { generateText } from 'ai';\n"
        "const base = 'https://ai-gateway.vercel.sh/v1';\n"
        "await generateText({ model: 'anthropic/claude-sonnet-4.5', prompt: 'x' });\n"
    )
    (root / ".env").write_text(f"OPENAI_API_KEY={FAKE_KEY}\nAI_GATEWAY_API_KEY=\n")
    (root / "node_modules").mkdir()
    (root / "node_modules" / "junk.js").write_text("import OpenAI from 'openai'; const m = 'gpt-4o';\n")


def test_scan_lists_sdks_models_keys_and_masks_literal_keys(tmp_path: Path) -> None:
    _write_app(tmp_path)
    result = subprocess.run(
        [MODELMETER, "scan", str(tmp_path), "--format", "json"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 3, result.stderr  # a literal key was found
    assert FAKE_KEY not in result.stdout + result.stderr
    found = {(f["kind"], f["value"]) for f in json.loads(result.stdout)}
    assert {("sdk", "openai"), ("sdk", "anthropic"), ("sdk", "vercel-ai-sdk")} <= found
    assert {("model", "gpt-4o-mini"), ("model", "claude-sonnet-4-5-20250929")} <= found
    assert ("model", "anthropic/claude-sonnet-4.5") in found
    assert {("key_variable", "OPENAI_API_KEY"), ("key_variable", "AI_GATEWAY_API_KEY")} <= found
    assert ("endpoint", "https://ai-gateway.vercel.sh") in found
    assert ("literal_key", fingerprint(FAKE_KEY)) in found
    assert not any(f["path"].startswith("node_modules") for f in json.loads(result.stdout))


def test_scan_table_output_is_human_and_clean_tree_exits_zero(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("from mistralai import Mistral\nm = 'mistral-small-latest'\n")
    result = subprocess.run([MODELMETER, "scan", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "mistralai" in result.stdout and "mistral-small-latest" in result.stdout
