"""The `modelmeter` command: one module per command group, each a thin layer over library code.

Heavy imports (duckdb, polars, SDKs) happen inside the commands, so `modelmeter --help` stays fast.
"""

from __future__ import annotations

import sys

import typer

from modelmeter.cli import check, demo, exits, ingest, lake, mock, report, run, scan, serve

app = typer.Typer(
    name="modelmeter",
    help="Measure what your AI calls really do: inventory, cost, latency, failover, direct vs gateway.",
    epilog=exits.HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
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


for module in (run, ingest, serve, report, check, demo, mock, scan, lake):
    module.register(app)


def main(args: list[str] | None = None) -> None:
    """Run the command; a usage error is one line on stderr and exit 64 (click alone would exit 2, which
    `check` uses for a breach)."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args, prog_name="modelmeter", standalone_mode=False)
    except typer.Abort:
        typer.echo("modelmeter: interrupted", err=True)
        sys.exit(130)
    except typer.TyperException as exc:  # click's errors; usage errors carry exit code 2
        ctx = getattr(exc, "ctx", None)
        where = ctx.command_path if ctx else "modelmeter"
        hint = f" (see {where} --help)" if ctx else ""
        if message := exits.one_line(exc.format_message()):  # empty when the help was shown instead
            typer.echo(f"{where}: {message}{hint}", err=True)
        code = getattr(exc, "exit_code", exits.FAILED)
        sys.exit(exits.USAGE if code == 2 else code)
    sys.exit(code if isinstance(code, int) else exits.OK)
