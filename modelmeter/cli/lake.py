"""`modelmeter rollup`, `modelmeter lake compact`, and the `--lake` side of `ingest`: thin layers over
modelmeter.lake.

Exit codes (cli/exits.py): 0 done; 1 error (one line on stderr; nothing half-written is visible to
readers); 64 a bad option value; `ingest --lake` also 3 when some input was quarantined, as `ingest --db`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from modelmeter.cli import exits

if TYPE_CHECKING:
    from modelmeter.lake.location import Lake

LAKE_HELP = "Parquet lake: a directory or s3://bucket/prefix (S3 settings: the standard AWS_* variables)."


def _fail(action: str, exc: BaseException) -> typer.Exit:
    return exits.fail(action, f"failed: {exc}", exits.FAILED)


def _lake(command: str, uri: str) -> Lake:
    """The lake a URI names; an unusable URI is a usage error (exit 64)."""
    from modelmeter.lake.location import Lake, LakeError

    try:
        return Lake.at(uri)
    except LakeError as exc:
        raise exits.usage(command, str(exc)) from exc


def _days(command: str, values: list[str]) -> list[date]:
    try:
        return [date.fromisoformat(value) for value in values]
    except ValueError as exc:
        raise exits.usage(command, f"--day takes a date such as 2026-11-02: {exc}") from exc


def ingest_into_lake(
    paths: list[str] | None, lake_uri: str, prices: Path | None, batch_spans: int, quiet: bool
) -> int:
    """`modelmeter ingest --lake`: returns the exit code."""
    import duckdb

    from modelmeter.lake.location import LakeError
    from modelmeter.lake.write import ingest_to_lake

    lake = _lake("ingest", lake_uri)
    try:
        result = ingest_to_lake(paths, lake, prices_path=prices, batch_spans=batch_spans)
    except (OSError, ValueError, LakeError, duckdb.Error) as exc:
        raise _fail("ingest", exc) from exc
    summary = result.summary
    if not quiet:
        typer.echo(
            f"files {summary.files} · spans {summary.spans} · calls {summary.calls_added} · "
            f"non-GenAI spans ignored {summary.ignored} · quarantined {summary.quarantined} · "
            f"Parquet files written {len(result.written)} under {lake_uri}",
            err=True,
        )
        if summary.quarantined:
            typer.echo(f"quarantined input (file, line, reason): {lake_uri}/quarantine/", err=True)
    return summary.exit_code


def register(app: typer.Typer) -> None:
    @app.command("rollup")
    def rollup(
        lake: str = typer.Option(..., "--lake", help=LAKE_HELP),
        engine: str = typer.Option("duckdb", "--engine", help="duckdb (default) or spark (the spark extra)."),
        master: str = typer.Option("local[2]", "--master", help="spark: local[N] or spark://host:port."),
        day: list[str] = typer.Option([], "--day", help="Only these days (YYYY-MM-DD, repeatable)."),
        force: bool = typer.Option(False, "--force", help="Recompute days whose rollups are current."),
    ) -> None:
        """Write the daily rollups of every closed day (before today, UTC) that lacks current ones.

        Idempotent: a day is recomputed only when its raw files changed (or with --force).

        Example: modelmeter rollup --lake s3://telemetry/modelmeter --engine spark --master local[2]
        """
        import duckdb

        from modelmeter.lake.location import LakeError
        from modelmeter.lake.rollup import DuckDBEngine, Engine, SparkEngine, roll_up

        if engine not in ("duckdb", "spark"):
            raise exits.usage("rollup", f"unknown engine {engine!r}: choose duckdb or spark")
        days = _days("rollup", day) or None
        where = _lake("rollup", lake)
        try:
            runner: Engine = DuckDBEngine() if engine == "duckdb" else SparkEngine(master)
            result = roll_up(where, runner, days=days, force=force)
        except (OSError, ValueError, LakeError, duckdb.Error) as exc:
            raise _fail("rollup", exc) from exc
        except Exception as exc:  # Spark reports its own errors (no Java, no S3A jars) as Py4J errors
            if engine != "spark":
                raise
            raise _fail("rollup", RuntimeError(str(exc).splitlines()[0])) from exc
        typer.echo(
            f"rolled up {len(result.rolled)} day(s) with {engine}; {len(result.current)} already current",
            err=True,
        )

    lake_app = typer.Typer(help="Housekeeping of a Parquet lake.", no_args_is_help=True)

    @lake_app.command("compact")
    def compact(
        day: str = typer.Option(..., "--day", help="The day to compact (YYYY-MM-DD, UTC)."),
        lake: str = typer.Option(..., "--lake", help=LAKE_HELP),
    ) -> None:
        """Rewrite a day's files as one file per table, each span once; readers never see a gap.

        Example: modelmeter lake compact --lake /data/lake --day 2026-11-02
        """
        import duckdb

        from modelmeter.lake.compact import compact_day
        from modelmeter.lake.location import LakeError

        (the_day,) = _days("lake compact", [day])
        where = _lake("lake compact", lake)
        try:
            results = compact_day(where, the_day)
        except (OSError, ValueError, LakeError, duckdb.Error) as exc:
            raise _fail("compact", exc) from exc
        for r in results:
            typer.echo(f"{r.table} {day}: {r.files_before} file(s) -> {1 if r.file else 0}", err=True)

    app.add_typer(lake_app, name="lake")
