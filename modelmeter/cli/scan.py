"""`modelmeter scan PATH`: the static inventory of a codebase, by deployable unit, with a verdict."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from modelmeter.cli import exits

if TYPE_CHECKING:
    from rich.console import Console

    from modelmeter.scan import Finding, ScanResult

EXIT_LITERAL_KEYS = exits.FINDINGS
_PROGRESS_AFTER_FILES = 2000


class ScanFormat(StrEnum):
    table = "table"
    json = "json"


_HELP = """Inventory a codebase without running it, by deployable unit (a directory with its own
pyproject.toml, package.json, Dockerfile, ...; the root otherwise): the AI SDKs it uses, models named,
endpoints (provider API or gateway), AI credentials, and a verdict: on a gateway, on direct keys, or
mixed (and what still goes direct). Tests, docs, fixtures, vendored and generated code are counted
apart. Literal keys are shown only as fingerprint and kind.

Examples:

  modelmeter scan ./services

  modelmeter scan . --git-history --format json > inventory.json

  modelmeter scan . --db .modelmeter/modelmeter.duckdb   (then: modelmeter report inventory)

Exit codes: 0; 64 bad input (no such path, unusable database); 3 literal keys found in application
code (.env files included) or, with --git-history, in its history (so CI can fail on committed
secrets). Keys in tests, docs and fixtures are counted, and listed by --format json.
"""


def register(app: typer.Typer) -> None:
    @app.command("scan", help=_HELP)
    def scan(
        path: Path = typer.Argument(..., help="A directory or file to read."),
        output_format: ScanFormat = typer.Option(ScanFormat.table, "--format", "-f", help="table or json."),
        db: Path | None = typer.Option(
            None, "--db", help="Also store the findings in this database, for `report inventory`."
        ),
        git_history: bool = typer.Option(
            False, "--git-history", help="Also look for keys ever committed (needs git; bounded in time)."
        ),
        history_seconds: float = typer.Option(60.0, help="--git-history: stop reading history after this."),
        max_seconds: float = typer.Option(300.0, help="Stop reading files after this (counted as skipped)."),
    ) -> None:
        from modelmeter.scan import scan_tree

        if not path.exists():
            _fail(f"no such file or directory: {path}")
        if max_seconds <= 0 or history_seconds <= 0:
            _fail("--max-seconds and --history-seconds must be positive")
        with _progress() as progress:
            result = scan_tree(
                path,
                max_seconds=max_seconds,
                git_history=git_history,
                history_seconds=history_seconds,
                progress=progress,
            )
        if db is not None:
            _store(result, db)
        if output_format is ScanFormat.json:
            typer.echo(json.dumps(_as_json(result), indent=1, default=str))
        else:
            from rich.console import Console

            _print(result, Console())
        if _keys_that_count(result)[0]:
            raise typer.Exit(EXIT_LITERAL_KEYS)


def _fail(message: str) -> None:
    raise exits.usage("scan", message)


def _store(result: ScanResult, db: Path) -> None:
    import duckdb

    from modelmeter.scan.store import save

    try:
        scan_id = save(result, db)
    except (duckdb.Error, OSError, ValueError) as exc:  # ValueError: a damaged database
        _fail(f"cannot store the scan in {db}: {str(exc).splitlines()[0]}")
    typer.echo(f"stored scan {scan_id} in {db}", err=True)


@contextmanager
def _progress() -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar on stderr for long scans at a terminal; nothing otherwise."""
    from rich.console import Console
    from rich.progress import Progress, TaskID

    console = Console(stderr=True)
    if not console.is_terminal:
        yield None
        return
    bar = Progress(console=console, transient=True)
    task: list[TaskID] = []

    def update(done: int, total: int) -> None:
        if total < _PROGRESS_AFTER_FILES:
            return
        if not task:
            bar.start()
            task.append(bar.add_task("scanning files", total=total))
        bar.update(task[0], completed=done)

    try:
        yield update
    finally:
        bar.stop()


def _as_json(result: ScanResult) -> dict:
    return {
        "root": result.root,
        "complete": result.complete,
        "seconds": round(result.seconds, 3),
        "files_read": result.files_read,
        "files_by_category": result.files_by_category,
        "skipped": result.skipped,
        "notes": result.notes,
        "units": [{**asdict(u), "still_direct": u.still_direct} for u in result.units],
        "findings": [asdict(f) for f in result.findings if f.kind != "other_secret"],
        "other_secrets": sum(1 for f in result.findings if f.kind == "other_secret"),
        "history": asdict(result.history) if result.history else None,
    }


def _print(result: ScanResult, console: Console) -> None:
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    verdicts = Counter(unit.verdict for unit in result.units)
    console.print(
        f"[bold]{len(result.units)} deployable unit(s)[/bold] under {escape(str(result.root))}: "
        + ", ".join(f"{n} {verdict}" for verdict, n in verdicts.most_common()),
        highlight=False,
    )
    for unit in result.units:
        label = unit.path if unit.name in (unit.path, Path(unit.path).name) else f"{unit.path} ({unit.name})"
        verdict = unit.verdict + (f": {', '.join(unit.gateways)}" if unit.gateways else "")
        console.print(f"\n[bold]{escape(label)}[/bold] — {escape(verdict)}", highlight=False)
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(overflow="fold")
        rows = {
            "still direct": unit.still_direct,
            "SDKs": _with_places(result, unit.path, "sdk", unit.sdks),
            "models": ", ".join(unit.models),
            "endpoints": ", ".join(unit.endpoints),
            "AI credentials": ", ".join(unit.credentials),
            ".env files": "; ".join(
                f"{f.path}: {f.detail}"
                for f in result.findings
                if f.kind == "env_file" and f.unit == unit.path and f.path in unit.env_files
            ),
            "outside app": ", ".join(f"{n} in {c}" for c, n in unit.outside_app.items()),
        }
        for name, value in rows.items():
            if value:
                grid.add_row(name, Text(value))  # paths and names are user text, not markup
        console.print(grid)
    keys, elsewhere = _keys_that_count(result)
    if keys:
        table = Table(title="\nLiteral keys (masked): move these out of the code", title_justify="left")
        for column in ("fingerprint", "kind", "where"):
            table.add_column(column, overflow="fold")
        for key in sorted({(k.value, k.detail, _where(k)) for k in keys}, key=lambda row: row[2]):
            table.add_row(*map(Text, key))
        console.print(table)
    if elsewhere:
        by_category = Counter(k.category for k in elsewhere)
        counted = ", ".join(f"{n} in {c}" for c, n in sorted(by_category.items()))
        console.print(f"\nLiteral keys outside application code: {counted} (listed by --format json).")
    console.print()
    _print_counts(result, console)


def _keys_that_count(result: ScanResult) -> tuple[list[Finding], list[Finding]]:
    """Literal keys in application code (.env files included) or git history, and the others."""
    from modelmeter.scan import HISTORY
    from modelmeter.scan.files import APP

    keys = result.literal_keys
    counts = [k for k in keys if k.category in (APP, HISTORY)]
    return counts, [k for k in keys if k.category not in (APP, HISTORY)]


def _where(key: Finding) -> str:
    return f"{key.path} (commit {key.commit})" if key.commit else _place(key.path, key.line)


def _with_places(result: ScanResult, unit: str, kind: str, values: list[str]) -> str:
    """`value (path:line)`, the first place in application code."""
    placed = []
    for value in values:
        first = result.first_places.get((unit, kind, value))
        placed.append(f"{value} ({_place(first.path, first.line)})" if first else value)
    return ", ".join(placed)


def _print_counts(result: ScanResult, console: Console) -> None:
    files = ", ".join(f"{n:,} {c}" for c, n in result.files_by_category.items())
    console.print(f"Read {result.files_read:,} files ({files}) in {result.seconds:.1f} s.")
    other = len({f.value for f in result.findings if f.kind == "other_secret"})
    if other:
        console.print(f"Other secrets named (not AI keys, not listed): {other}.")
    if result.skipped:
        console.print(
            "Skipped: " + "; ".join(f"{n:,} {reason}" for reason, n in result.skipped.items()) + "."
        )
    for note, count in result.notes.items():
        console.print(f"Read with a caveat: {count:,} {note}.")
    history = result.history
    if history is not None:
        state = "whole history" if history.complete else "history cut short by the time limit"
        if history.error:
            console.print(f"Git history not read: {history.error}.", highlight=False, markup=False)
        else:
            console.print(f"Git history: {history.commits_read:,} commits read ({state}).")
    if not result.complete:
        console.print("The scan stopped at its time limit: raise --max-seconds to read every file.")


def _place(path: str, line: int) -> str:
    return f"{path} cell {line}" if path.endswith(".ipynb") else f"{path}:{line}"
