"""`modelmeter ingest`: not built yet (see the open issues)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("ingest")
    def _ingest() -> None:
        """Not built yet."""
        typer.echo("modelmeter ingest: not built yet", err=True)
        raise typer.Exit(2)
