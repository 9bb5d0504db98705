"""`modelmeter demo`: not built yet (see the open issues)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def _demo() -> None:
        """Not built yet."""
        typer.echo("modelmeter demo: not built yet", err=True)
        raise typer.Exit(2)
