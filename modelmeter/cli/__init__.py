"""The `modelmeter` command: one module per command group, each a thin layer over library code.

Heavy imports (duckdb, polars, SDKs) happen inside the commands, so `modelmeter --help` stays fast.
"""

from __future__ import annotations

import typer

from modelmeter.cli import demo, ingest, lake, mock, report, run, scan, serve

app = typer.Typer(
    name="modelmeter",
    help="Measure what your AI calls really do: inventory, cost, latency, failover, direct vs gateway.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version_callback(value: bool) -> None:
    if value:
        from modelmeter import __version__

        typer.echo(f"modelmeter {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Measure what your AI calls really do: inventory, cost, latency, failover, direct vs gateway."""


for module in (run, ingest, serve, report, demo, mock, scan, lake):
    module.register(app)


def main() -> None:
    app()
