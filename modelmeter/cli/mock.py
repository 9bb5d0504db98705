"""`modelmeter mock`: not built yet (see the open issues)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("mock")
    def _mock() -> None:
        """Not built yet."""
        typer.echo("modelmeter mock: not built yet", err=True)
        raise typer.Exit(2)
