"""Exit codes and the one-line error every command prints: the same meaning whichever command exits."""

from __future__ import annotations

import typer

OK = 0
WARN = 1  # check: a warning; other commands: the work failed while running (e.g. a locked database)
FAILED = 1
BREACH = 2  # check: a fail limit is crossed
FINDINGS = 3  # done, with something to look at: ingest quarantined input, scan found literal keys
NO_DATA = 4  # no database at the path, a file that is not a modelmeter database, or no calls in it yet
USAGE = 64  # a bad option or value, an unknown name, an invalid config file (sysexits EX_USAGE)

HELP = (
    "Exit codes: 0 done; 1 failed while running (check: a warning); 2 check: a budget breached; "
    "3 done with findings (ingest: input quarantined; scan: literal keys found); "
    "4 no data (no database, not a modelmeter database, no calls yet); "
    "64 bad usage (an option, value, name or config file); run: the program's own code."
)


def fail(command: str, message: str, code: int) -> typer.Exit:
    """Print `modelmeter COMMAND: message` on stderr and return the Exit to raise."""
    typer.echo(f"modelmeter {command}: {one_line(message)}", err=True)
    return typer.Exit(code)


def usage(command: str, message: str) -> typer.Exit:
    """A usage error (bad value, unknown name, invalid config) as one line, exit 64."""
    return fail(command, message, USAGE)


def one_line(message: str) -> str:
    return " ".join(str(message).split())
