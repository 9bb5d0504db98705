"""Static inventory of a codebase: per deployable unit, the AI SDKs, models, endpoints and credentials
its code uses, and whether it calls providers through a gateway, directly, or both.

This is the first step of a migration audit, before any traffic is observed: it reads files and runs
nothing. A literal key is reported only as its fingerprint and kind (the runtime's fingerprint, so
`report inventory` can say where the code holds a key seen at runtime), never as the secret.

    result = scan_tree(Path("."))
    for unit in result.units: print(unit.path, unit.verdict, unit.still_direct)
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from modelmeter.instrument.routes import parse_endpoints
from modelmeter.scan.extract import LITERAL_KEY, Finding, findings_in, with_place
from modelmeter.scan.files import APP, MAX_FILE_BYTES, UNIT_MARKERS, notebook_cells, read, unit_of, walk
from modelmeter.scan.history import History, committed_keys
from modelmeter.scan.verdict import UnitSummary, summarise

DEFAULT_SECONDS = 300.0
HISTORY = "history"  # the category of keys found in git history

# called with (files done, files to read) as the scan goes
Progress = Callable[[int, int], None]


@dataclass(slots=True)
class ScanResult:
    root: str
    units: list[UnitSummary]
    findings: list[Finding]
    files_read: int
    files_by_category: dict[str, int]
    skipped: dict[str, int]  # reason -> files (or directories) not read
    notes: dict[str, int]  # caveat -> files read with it
    complete: bool  # False when the time budget ran out before every file was read
    history: History | None = None
    seconds: float = 0.0
    first_places: dict[tuple[str, str, str], Finding] = field(default_factory=dict)

    @property
    def literal_keys(self) -> list[Finding]:
        tree = [f for f in self.findings if f.kind == LITERAL_KEY]
        return tree + (self.history.findings if self.history else [])


def scan_tree(
    root: Path,
    *,
    max_seconds: float = DEFAULT_SECONDS,
    max_file_bytes: int = MAX_FILE_BYTES,
    git_history: bool = False,
    history_seconds: float = 60.0,
    progress: Progress | None = None,
) -> ScanResult:
    """Scan `root` (a directory or one file); never raises for a file's content or shape."""
    started = time.monotonic()
    deadline = started + max_seconds
    endpoints = parse_endpoints(os.environ.get("MODELMETER_ENDPOINTS"))
    tree = walk(root, deadline)
    base = root if root.is_dir() else root.parent
    unit_paths = {unit.path for unit in tree.units}
    skipped = Counter(tree.skipped)
    notes: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    findings: list[Finding] = []
    complete = tree.complete
    total = len(tree.files)
    for done, (relative, category) in enumerate(tree.files):
        if time.monotonic() > deadline:
            skipped[f"time limit of {max_seconds:g} s reached (not read)"] += total - done
            complete = False
            break
        if progress is not None:
            progress(done, total)
        content = read(base / relative, max_file_bytes)
        if content.text is None:
            skipped[content.skipped or "unreadable"] += 1
            continue
        if content.note:
            notes[content.note] += 1
        if content.generated and category == APP:
            category = "generated"
        categories[category] += 1
        found = _file_findings(content.text, Path(relative), endpoints, notes)
        findings += with_place(found, category, unit_of(relative, unit_paths))
    if progress is not None:
        progress(total, total)
    by_unit: dict[str, list[Finding]] = {}
    for finding in findings:
        by_unit.setdefault(finding.unit, []).append(finding)
    units = [summarise(unit, by_unit.get(unit.path, [])) for unit in tree.units]
    history = None
    if git_history:
        history = committed_keys(base, history_seconds)
        history.findings = [
            replace(f, category=HISTORY, unit=unit_of(f.path, unit_paths)) for f in history.findings
        ]
    return ScanResult(
        root=str(root),
        units=units,
        findings=findings,
        files_read=sum(categories.values()),
        files_by_category=dict(sorted(categories.items())),
        skipped=dict(skipped.most_common()),
        notes=dict(notes),
        complete=complete,
        history=history,
        seconds=time.monotonic() - started,
        first_places=first_places(findings),
    )


def first_places(findings: list[Finding]) -> dict[tuple[str, str, str], Finding]:
    """Per (unit, kind, value): where it first appears, application code first and manifests last."""
    places: dict[tuple[str, str, str], Finding] = {}

    def rank(f: Finding) -> tuple[bool, bool, str, int]:
        return f.category != APP, Path(f.path).name in UNIT_MARKERS, f.path, f.line

    for finding in sorted(findings, key=rank):
        places.setdefault((finding.unit, finding.kind, finding.value), finding)
    return places


def _file_findings(text: str, relative: Path, endpoints: tuple, notes: Counter[str]) -> list[Finding]:
    if relative.suffix.lower() != ".ipynb":
        return findings_in(text, relative, endpoints)
    cells = notebook_cells(text)
    if cells is None:
        notes["notebook that is not valid JSON (read as text)"] += 1
        return findings_in(text, relative, endpoints, suffix=".txt")
    found: list[Finding] = []
    for number, source in cells:
        found += findings_in(source, relative, endpoints, line=number)
    return found


__all__ = ["Finding", "ScanResult", "UnitSummary", "scan_tree"]
