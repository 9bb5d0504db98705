"""`modelmeter report`: not built yet (see the open issues)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("report")
    def _report() -> None:
        """Not built yet."""
        typer.echo("modelmeter report: not built yet", err=True)
        raise typer.Exit(2)
