"""Keys ever committed: read from `git log -p` as it streams, stopped by the time budget."""

from __future__ import annotations

import subprocess
from pathlib import Path

from modelmeter.instrument.keys import fingerprint
from modelmeter.scan.history import committed_keys

KEYS = ["sk-ant-api03-FAKEhistory0123456789abcdefgh", "vck_FAKEhistoryGateway0123456789abcd"]


def _repo(root: Path) -> Path:
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, timeout=30)

    root.mkdir()
    git("init", "-q")
    git("config", "user.email", "t@example.com")
    git("config", "user.name", "t")
    for n, key in enumerate(KEYS):
        (root / f"config{n}.env").write_text(f"SECRET={key}\n")
        git("add", ".")
        git("commit", "-qm", f"commit {n}")
    git("rm", "-q", "config0.env")
    git("commit", "-qm", "remove the first key")
    return root


def test_every_committed_key_is_found_once_with_its_path(tmp_path: Path) -> None:
    history = committed_keys(_repo(tmp_path / "repo"), seconds=30)
    assert history.complete and history.error is None and history.commits_read == 3
    found = {(f.value, f.detail, f.path, f.category) for f in history.findings}
    assert found == {
        (fingerprint(KEYS[0]), "anthropic-key", "config0.env", "app"),
        (fingerprint(KEYS[1]), "vercel-gateway-key", "config1.env", "app"),
    }


def test_the_time_budget_stops_git_and_says_the_history_is_incomplete(tmp_path: Path) -> None:
    history = committed_keys(_repo(tmp_path / "repo"), seconds=1e-6)
    assert not history.complete and history.error is None


def test_a_directory_that_is_not_a_repository_is_one_error_line(tmp_path: Path) -> None:
    history = committed_keys(tmp_path, seconds=30)
    assert history.error is not None and "\n" not in history.error
    assert history.findings == []
