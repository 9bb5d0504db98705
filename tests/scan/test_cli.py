"""`modelmeter scan` in a subprocess: units and verdicts, masked keys, --db, --git-history, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb

from modelmeter.instrument.keys import fingerprint

MODELMETER = str(Path(sys.executable).with_name("modelmeter"))
FAKE_KEY = "sk-proj-FAKEscanCANARY0123456789abcdefWXYZ"


def _scan(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1"}
    return subprocess.run(
        [MODELMETER, "scan", *args], capture_output=True, text=True, timeout=60, env=env, cwd=cwd
    )


def _write_app(root: Path) -> None:
    (root / "svc").mkdir()
    (root / "svc" / "pyproject.toml").write_text('[project]\nname = "classify"\n')
    (root / "svc" / "classify.py").write_text(
        "import os\nfrom openai import OpenAI\nimport anthropic\n\n"
        "client = OpenAI(api_key=os.environ['OPENAI_API_KEY'])\n"
        "MODEL = 'gpt-4o-mini'\n"
        "claude = anthropic.Anthropic()\n"
        "claude.messages.create(model='claude-sonnet-4-5-20250929', max_tokens=10, messages=[])\n"
    )
    (root / "web").mkdir()
    (root / "web" / "package.json").write_text('{"name": "web", "dependencies": {"ai": "^5"}}')
    (root / "web" / "gateway.ts").write_text(
        "import { generateText } from 'ai';\n"
        "const base = 'https://ai-gateway.vercel.sh/v1';\n"
        "await generateText({ model: 'anthropic/claude-sonnet-4.5', prompt: 'x' });\n"
    )
    (root / ".env").write_text(f"OPENAI_API_KEY={FAKE_KEY}\nAI_GATEWAY_API_KEY=\nSESSION_SECRET=abc\n")
    (root / "node_modules").mkdir()
    (root / "node_modules" / "junk.js").write_text("import OpenAI from 'openai'; const m = 'gpt-4o';\n")


def test_json_lists_units_with_verdicts_and_masks_literal_keys(tmp_path: Path) -> None:
    _write_app(tmp_path)
    result = _scan(str(tmp_path), "--format", "json")
    assert result.returncode == 3, result.stderr  # a literal key was found
    assert FAKE_KEY not in result.stdout + result.stderr
    out = json.loads(result.stdout)
    units = {u["path"]: u for u in out["units"]}
    assert units["svc"]["verdict"] == "direct keys"
    assert units["svc"]["still_direct"] == "anthropic (anthropic SDK); openai (OPENAI_API_KEY, openai SDK)"
    assert units["web"]["verdict"] == "gateway"
    assert units["."]["env_files"] == [".env"]
    found = {(f["kind"], f["value"]) for f in out["findings"]}
    assert ("literal_key", fingerprint(FAKE_KEY)) in found
    assert ("model", "anthropic/claude-sonnet-4.5") in found
    assert ("endpoint", "https://ai-gateway.vercel.sh") in found
    assert out["other_secrets"] == 1  # SESSION_SECRET: counted, not listed
    assert not any(f["path"].startswith("node_modules") for f in out["findings"])
    assert out["skipped"] == {"dependency, cache or build directory (not entered)": 1}


def test_table_output_fits_80_columns_and_a_clean_tree_exits_zero(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("from mistralai import Mistral\nm = 'mistral-small-latest'\n")
    result = _scan(str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "direct keys" in result.stdout and "mistral-small-latest" in result.stdout
    assert "mistralai (app.py:1)" in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80


def test_bad_input_is_one_line_and_exit_64(tmp_path: Path) -> None:
    missing = _scan(str(tmp_path / "nope"))
    assert (missing.returncode, missing.stderr) == (
        64,
        f"modelmeter scan: no such file or directory: {tmp_path / 'nope'}\n",
    )
    (tmp_path / "app.py").write_text("import openai\n")
    (tmp_path / "not.duckdb").write_text("this is not a database\n")
    bad_db = _scan(str(tmp_path / "app.py"), "--db", str(tmp_path / "not.duckdb"))
    assert bad_db.returncode == 64
    assert bad_db.stderr.startswith(f"modelmeter scan: cannot store the scan in {tmp_path / 'not.duckdb'}: ")
    assert len(bad_db.stderr.splitlines()) == 1 and "Traceback" not in bad_db.stderr


def test_db_stores_each_scan_with_units_and_findings(tmp_path: Path) -> None:
    (tmp_path / "code").mkdir()
    _write_app(tmp_path / "code")
    db = tmp_path / "mm.duckdb"
    for _ in range(2):
        assert _scan(str(tmp_path / "code"), "--db", str(db)).returncode == 3
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM scans").fetchone() == (2,)
    verdicts = con.execute("SELECT unit, verdict FROM scan_units ORDER BY unit LIMIT 3").fetchall()
    assert verdicts == [(".", "mixed"), (".", "mixed"), ("svc", "direct keys")]  # .env: both kinds
    keys = con.execute(
        "SELECT DISTINCT value, detail, path, line FROM scan_findings WHERE kind = 'literal_key'"
    )
    assert keys.fetchall() == [(fingerprint(FAKE_KEY), "openai-project-key", ".env", 1)]
    assert con.execute("SELECT count(*) FROM scan_findings WHERE kind = 'other_secret'").fetchone() == (0,)


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, timeout=30)


def test_git_history_finds_a_key_committed_then_removed(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "t@example.com")
    _git(repo, "config", "user.name", "t")
    (repo / "app.py").write_text(f'import openai\nclient = openai.OpenAI(api_key="{FAKE_KEY}")\n')
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "first")
    (repo / "app.py").write_text("import openai\nclient = openai.OpenAI()\n")
    _git(repo, "commit", "-qam", "remove the key")
    clean = _scan(str(repo), "--format", "json")
    assert clean.returncode == 0
    result = _scan(str(repo), "--git-history", "--format", "json")
    assert result.returncode == 3 and FAKE_KEY not in result.stdout
    history = json.loads(result.stdout)["history"]
    roots = ["git", "-C", str(repo), "rev-list", "--max-parents=0", "HEAD"]
    first = subprocess.run(roots, capture_output=True, text=True, check=True).stdout.strip()
    assert history["complete"] and history["commits_read"] == 2
    [key] = history["findings"]
    assert (key["value"], key["detail"], key["path"], key["commit"]) == (
        fingerprint(FAKE_KEY), "openai-project-key", "app.py", first[:12]
    )  # fmt: skip
    table = _scan(str(repo), "--git-history")
    assert first[:12] in table.stdout and "2 commits read" in table.stdout


def test_git_history_outside_a_repository_says_why_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("import openai\n")
    result = _scan(str(tmp_path), "--git-history")
    assert result.returncode == 0
    assert "Git history not read: " in result.stdout and "Traceback" not in result.stdout + result.stderr


def test_keys_only_in_tests_are_counted_not_failed(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("import openai\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_app.py").write_text(f"KEY = '{FAKE_KEY}'\n")
    result = _scan(str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "Literal keys outside application code: 1 in test (listed by --format json)." in result.stdout
    listed = json.loads(_scan(str(tmp_path), "--format", "json").stdout)["findings"]
    assert [(f["kind"], f["category"]) for f in listed if f["kind"] == "literal_key"] == [
        ("literal_key", "test")
    ]
