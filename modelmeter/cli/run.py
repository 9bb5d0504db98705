"""`modelmeter run`: not built yet (see the open issues)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("run")
    def _run() -> None:
        """Not built yet."""
        typer.echo("modelmeter run: not built yet", err=True)
        raise typer.Exit(2)
