"""`modelmeter serve`: not built yet (see the open issues)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def _serve() -> None:
        """Not built yet."""
        typer.echo("modelmeter serve: not built yet", err=True)
        raise typer.Exit(2)
