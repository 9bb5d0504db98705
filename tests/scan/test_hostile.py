"""The scan never crashes and never hangs: every file is read or skipped for a counted reason."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from modelmeter.scan import scan_tree
from modelmeter.scan.extract import findings_in


def test_the_hostile_strings_file_is_read_and_only_real_hosts_are_endpoints(corpus: Path) -> None:
    result = scan_tree(corpus / "hostile")
    assert result.files_read == 1
    assert result.notes == {"not UTF-8 (read with replacement characters)": 1}
    endpoints = {(f.line, f.value) for f in result.findings if f.kind == "endpoint"}
    assert endpoints == {
        (3, "https://${resource}.openai.azure.com"),  # a template host still names Azure
        (5, "https://api.anthropic.com"),  # inside a Markdown link
        (5, "https://api.mistral.ai"),  # inside <...>
        (6, "https://openrouter.ai"),  # a Markdown image
        (8, "http://api.groq.com"),  # ports out of range or not numbers
        (13, "https://api.openai.com"),  # a 3,000-character path
        (15, "https://api.openai.com"),
        (18, "https://api.cohere.com"),  # after bytes that are not UTF-8
    }
    models = {(f.line, f.value) for f in result.findings if f.kind == "model"}
    assert models == {(10, "gemini-2.5-pro"), (18, "gpt-4.1")}  # not gpt-tokenizer, claude-code, ...
    assert not [f for f in result.findings if f.kind == "literal_key"]  # placeholders are not keys


def test_regex_bait_costs_time_in_proportion_to_its_size() -> None:
    bait = "'" + "gpt-" * 50_000 + "\n" + "https://" + "[" * 50_000 + "\nsk-" + "a-" * 50_000
    started = time.monotonic()
    findings_in(bait, Path("bait.ts"))
    assert time.monotonic() - started < 5


def test_binary_huge_minified_and_linked_files_are_skipped_with_reasons(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("import openai\n")
    (tmp_path / "data.json").write_bytes(b"{\x00\x01 'gpt-4o'")
    (tmp_path / "huge.py").write_text("# " + "x" * 2_000_000 + "\nimport anthropic\n")
    (tmp_path / "bundle.js").write_text("var m='gpt-4o';" * 1000)
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "link.py").symlink_to(tmp_path / "app.py")
    (tmp_path / "dangling.py").symlink_to(tmp_path / "missing.py")
    (tmp_path / "node_modules" / "openai").mkdir(parents=True)
    (tmp_path / "node_modules" / "openai" / "index.js").write_text("const m = 'gpt-4o';\n")
    result = scan_tree(tmp_path)
    assert result.skipped == {
        "symbolic link (not followed)": 3,
        "binary": 1,
        "larger than 1,024 KiB": 1,
        "minified or one-line data": 1,
        "dependency, cache or build directory (not entered)": 1,
    }
    assert result.files_read == 1
    assert [(f.kind, f.value) for f in result.findings] == [("sdk", "openai")]


def test_a_pipe_is_counted_never_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.py")  # opening a FIFO for reading would block until a writer comes
    result = scan_tree(tmp_path, max_seconds=10)
    assert result.files_read == 0
    assert result.skipped == {"not a regular file (pipe, socket, device or gone)": 1}


def test_the_time_limit_stops_the_scan_and_says_so(tmp_path: Path) -> None:
    for n in range(200):
        (tmp_path / f"m{n}.py").write_text("import openai\n" * 2000)
    result = scan_tree(tmp_path, max_seconds=0.05)
    assert not result.complete and result.files_read < 200
    # stopped while listing or while reading: either way the count says how much was left
    assert [reason for reason in result.skipped if reason.startswith("time limit")]


def test_a_large_notebook_is_read_for_its_code_cells(tmp_path: Path) -> None:
    image = "A" * 3_000_000  # a plot in an output: most of a real notebook's bytes
    cells = [
        {"cell_type": "code", "source": ["import anthropic\n"], "outputs": [{"data": {"image/png": image}}]},
    ]
    (tmp_path / "plots.ipynb").write_text(json.dumps({"cells": cells, "nbformat": 4}))
    result = scan_tree(tmp_path)
    assert [(f.kind, f.value, f.line) for f in result.findings] == [("sdk", "anthropic", 1)]
