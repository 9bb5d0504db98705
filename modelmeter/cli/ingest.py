"""`modelmeter ingest` and `modelmeter reprice`: thin layers over modelmeter.ingest.pipeline.

Exit codes of `ingest`: 0 everything ingested; 3 ingested, but some input was quarantined (see the
`quarantine` table); 1 error (nothing of the failing batch was written); 64 a path or option that
cannot be used. `reprice` adds 4: no database at the path.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from modelmeter.cli import exits
from modelmeter.cli.times import FORMS, check_period, parse_option

if TYPE_CHECKING:
    from rich.console import Console

    from modelmeter.ingest.pipeline import IngestSummary

_DB_HELP = "Database file (default: MODELMETER_DB, else $MODELMETER_HOME/modelmeter.duckdb)."
_PRICES_HELP = "Price overrides (default: $MODELMETER_HOME/prices.toml when it exists)."
_PROGRESS_MIN_BYTES = 32 * 1024 * 1024


def register(app: typer.Typer) -> None:
    @app.command("ingest")
    def ingest(
        paths: list[str] = typer.Argument(
            None,
            metavar="[PATH]...",
            help="Spool directories, record files, OTLP JSON/protobuf, Collector file/awss3-exporter output "
            "(s3://bucket/prefix with --lake).",
        ),
        db: Path | None = typer.Option(None, "--db", help=_DB_HELP),
        lake: str | None = typer.Option(
            None, "--lake", help="Write Parquet to this lake instead of a database."
        ),
        prices: Path | None = typer.Option(None, "--prices", help=_PRICES_HELP),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar and no summary."),
        batch_spans: int = typer.Option(
            250_000, "--batch-spans", min=1, help="Spans per transaction (memory bound)."
        ),
    ) -> None:
        """Load spans into the database: closed spool files by default, or the files and folders given.

        Files may be gzipped (detected by content). Re-ingesting the same files changes nothing.
        Exit code: 0 ok, 3 ingested with quarantined input, 1 error, 64 a path or option that cannot be used.

        Example: modelmeter ingest otel-export/ --db team.duckdb
        Example: modelmeter ingest s3://otel/traces/ --lake s3://telemetry/modelmeter
        """
        if lake is not None:
            from modelmeter.cli.lake import ingest_into_lake

            if db is not None:
                raise exits.usage("ingest", "give --db or --lake, not both")
            raise typer.Exit(ingest_into_lake(paths, lake, prices, batch_spans, quiet))
        import duckdb
        from rich.console import Console

        from modelmeter.ingest.pipeline import EXIT_ERROR, discover
        from modelmeter.ingest.store import default_db_path, default_spool_dir

        console = Console(stderr=True, markup=False, highlight=False)  # paths and errors are user text
        targets = [Path(p) for p in paths or []] or [default_spool_dir()]
        if not paths and not targets[0].exists():
            console.print(f"nothing to ingest: spool directory {targets[0]} does not exist")
            raise typer.Exit(0)
        for path in targets if paths else []:
            if not path.exists():
                raise exits.usage("ingest", f"no such file or directory: {path}")
        _check_prices("ingest", prices)
        try:
            total = sum(p.stat().st_size for p in discover(targets))
            summary = _run_with_progress(
                targets, db or default_db_path(), prices, total, quiet, console, batch_spans
            )
        except (OSError, ValueError, duckdb.Error) as exc:  # e.g. another ingest holds the database
            raise exits.fail("ingest", f"failed: {exc}", EXIT_ERROR) from exc
        if not quiet:
            console.print(
                f"files {summary.files} (skipped {summary.files_skipped} already ingested) · "
                f"spans {summary.spans} · "
                f"calls added {summary.calls_added} · duplicates skipped {summary.duplicates} · "
                f"non-GenAI spans ignored {summary.ignored} · quarantined {summary.quarantined}"
            )
            if summary.not_recorded:
                console.print(
                    f"{summary.not_recorded} calls were not recorded: the instrumentation dropped them "
                    "(see the `dropped` table)"
                )
        raise typer.Exit(summary.exit_code)

    @app.command("reprice")
    def reprice(
        since: datetime | None = typer.Option(
            None, "--since", parser=parse_option, help=f"Only calls started at or after this time: {FORMS}."
        ),
        db: Path | None = typer.Option(None, "--db", help=_DB_HELP),
        prices: Path | None = typer.Option(None, "--prices", help=_PRICES_HELP),
    ) -> None:
        """Recompute stored cost estimates with the current price data and overrides.

        Exit code: 0 ok, 1 error, 4 no database at the path, 64 a bad option or prices file.

        Example: modelmeter reprice --since 7d --prices prices.toml
        """
        import duckdb

        from modelmeter.ingest.pipeline import EXIT_ERROR
        from modelmeter.ingest.pipeline import reprice as reprice_calls
        from modelmeter.ingest.store import default_db_path

        check_period("reprice", since, datetime.now(UTC), until_name="now")
        path = db or default_db_path()
        if not path.exists():
            raise exits.fail(
                "reprice", f"no database at {path}: point --db or MODELMETER_DB at one", exits.NO_DATA
            )
        _check_prices("reprice", prices)
        try:
            summary = reprice_calls(path, since=since, prices_path=prices)
        except (OSError, ValueError, duckdb.Error) as exc:
            raise exits.fail("reprice", f"failed: {exc}", EXIT_ERROR) from exc
        typer.echo(f"repriced {summary.calls} calls; {summary.unpriced} calls in the database are unpriced")


def _check_prices(command: str, prices: Path | None) -> None:
    """An explicit --prices must exist and parse: a typo would otherwise price with no overrides."""
    from modelmeter.ingest.pricing import load_overrides

    if prices is None:
        return
    if not prices.is_file():
        raise exits.usage(command, f"no prices file at {prices}")
    try:
        load_overrides(prices)
    except (OSError, ValueError, TypeError, ArithmeticError) as exc:  # Decimal("six") is an ArithmeticError
        raise exits.usage(command, f"cannot use prices {prices}: {exc}") from exc


def _run_with_progress(
    targets: list[Path], db: Path, prices: Path | None, total: int, quiet: bool, console: Console, batch: int
) -> IngestSummary:
    """A progress bar (by bytes) only when the run is long enough to want one."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    from modelmeter.ingest.pipeline import ingest_paths

    if quiet or total < _PROGRESS_MIN_BYTES:
        return ingest_paths(targets, db, prices_path=prices, batch_spans=batch)
    columns = (TextColumn("ingest"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("ingest", total=total)
        return ingest_paths(
            targets,
            db,
            prices_path=prices,
            batch_spans=batch,
            on_file=lambda _p, n: progress.advance(task, n),
        )
