"""User text the CLI prints itself (file names, values) is printed as written, never read as rich markup."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CLI = str(Path(sys.executable).with_name("modelmeter"))


def test_scan_prints_a_next_js_route_with_brackets_whole(tmp_path: Path) -> None:
    page = tmp_path / "app" / "[locale]" / "page.tsx"
    page.parent.mkdir(parents=True)
    page.write_text("import OpenAI from 'openai';\nconst model = 'gpt-4o-mini';\n")
    done = subprocess.run(
        [CLI, "scan", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode == 0, done.stderr
    assert "app/[locale]/page.tsx" in done.stdout
    assert "app//page.tsx" not in done.stdout


def test_an_error_naming_a_path_with_brackets_prints_it_whole(tmp_path: Path) -> None:
    spool = tmp_path / "[team]" / "spool"
    done = subprocess.run(
        [CLI, "ingest", str(spool), "--db", str(tmp_path / "x.duckdb")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 64
    assert f"{tmp_path}/[team]/spool" in done.stderr
