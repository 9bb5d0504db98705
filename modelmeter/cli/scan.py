"""`modelmeter scan PATH`: static inventory of a codebase (SDKs, models, key variables, literal keys)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path

import typer

from modelmeter.scan import Finding


class ScanFormat(StrEnum):
    table = "table"
    json = "json"


def register(app: typer.Typer) -> None:
    @app.command("scan")
    def scan(
        path: Path = typer.Argument(..., exists=True, help="A directory or file to read."),
        output_format: ScanFormat = typer.Option(ScanFormat.table, "--format", "-f", help="table or json."),
    ) -> None:
        """Inventory a codebase without running it: AI SDKs imported, model names, API-key variables,
        endpoints (vendor or gateway hosts) and literal keys — shown only as fingerprint and kind.

        Example: [bold]modelmeter scan ./services --format json > inventory.json[/bold]

        Exit code 0; 3 when literal keys were found (so CI can fail on committed secrets); 64 no such path.
        """
        from modelmeter.scan import scan_tree

        findings = scan_tree(path)
        if output_format is ScanFormat.json:
            typer.echo(json.dumps([asdict(f) for f in findings], indent=1))
        else:
            _print_tables(findings)
        if any(f.kind == "literal_key" for f in findings):
            raise typer.Exit(3)


def _print_tables(findings: list[Finding]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(markup=False, highlight=False)  # file names and values are user text
    titles = {
        "sdk": "AI SDKs imported",
        "model": "Model names",
        "endpoint": "Endpoints",
        "key_variable": "API-key variables",
        "literal_key": "Literal keys (masked) — move these out of the code",
    }
    for kind, title in titles.items():
        rows = Counter((f.value, f.detail) for f in findings if f.kind == kind)
        if not rows:
            continue
        files: dict[tuple[str, str], set[str]] = {}
        for f in findings:
            if f.kind == kind:
                files.setdefault((f.value, f.detail), set()).add(f.path)
        table = Table(title=title, title_justify="left")
        for column in ("value", "detail", "mentions", "files", "first place"):
            table.add_column(column)
        for (value, detail), count in rows.most_common():
            first = next(f for f in findings if f.kind == kind and (f.value, f.detail) == (value, detail))
            table.add_row(
                value, detail, str(count), str(len(files[(value, detail)])), f"{first.path}:{first.line}"
            )
        console.print(table)
    if not findings:
        console.print("No AI SDKs, models, keys or endpoints found.")
