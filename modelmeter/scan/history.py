"""Keys ever committed: literal keys in lines added anywhere in a repository's history.

`git log -p` is read as it streams, newest commit first, and stopped when the time budget runs out
(a timer kills git even while it is silent); the result then says the history is incomplete. Only
added lines are read; a key is reported once, at the oldest commit seen adding it, as its fingerprint
and kind.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from modelmeter.scan.extract import LITERAL_KEY, Finding, literal_keys_in_line
from modelmeter.vendors import GATEWAYS

_KEY_HINT = ("sk-", "vck_", "gsk_", "xai-", "AIza", "_KEY", "_TOKEN")


@dataclass(slots=True)
class History:
    findings: list[Finding] = field(default_factory=list)
    commits_read: int = 0
    complete: bool = True
    error: str | None = None


def committed_keys(root: Path, seconds: float) -> History:
    """Literal keys added by any commit reachable from any ref, within `seconds`."""
    history = History()
    git = shutil.which("git")
    if git is None:
        history.error = "git is not installed"
        return history
    command = [git, "-C", str(root), "log", "--all", "-p", "-U0", "--no-color", "--no-ext-diff",
               "--no-renames", "--format=commit %H"]  # fmt: skip
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as exc:
        history.error = f"cannot run git: {exc}"
        return history
    timer = threading.Timer(seconds, process.kill)
    timer.start()
    started = time.monotonic()
    seen: dict[str, Finding] = {}
    commit, path = "", ""
    assert process.stdout is not None
    try:
        for raw in process.stdout:
            if time.monotonic() - started > seconds:
                history.complete = False
                break
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            if line.startswith("commit "):
                commit = line[7:]
                history.commits_read += 1
            elif line.startswith("+++ "):
                path = line[6:] if line.startswith("+++ b/") else ""
            elif line.startswith("+") and path and any(hint in line for hint in _KEY_HINT):
                for key, kind in literal_keys_in_line(line[1:]):
                    vendor = kind.split("-")[0]
                    route = "gateway" if vendor in GATEWAYS else "direct"
                    seen[key] = Finding(LITERAL_KEY, key, vendor, route, kind, path, 0, commit=commit[:12])
    finally:
        timer.cancel()
        process.kill()
        stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
        code = process.wait()
    if code != 0 and history.complete and time.monotonic() - started < seconds:
        history.error = (stderr.strip().splitlines() or [f"git log exited {code}"])[-1]
    elif code != 0:
        history.complete = False
    history.findings = sorted(seen.values(), key=lambda f: (f.path, f.value))
    return history
