"""`modelmeter report KIND`: a thin layer over modelmeter.reports (build, then render or write files)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from modelmeter.cli import exits
from modelmeter.cli.times import FORMS, check_period, parse_option

if TYPE_CHECKING:
    from modelmeter.reports import Report
    from modelmeter.reports.params import ReportParams

REPORT_KINDS = ("inventory", "cost", "latency", "failover", "compare", "tiers", "weekly", "plan")
FORMATS = ("table", "html", "md", "csv", "json", "parquet")
# The tables each report writes as CSV or Parquet, its main table first (a file path gets that one).
# tests/cli check this against the reports' own output.
TABLES = {
    "inventory": (
        "workflows", "direct_keys", "inventory", "unpriced_models", "keys_in_code", "keys_not_seen", "units",
    ),
    "cost": (
        "spend_by_day", "spend_by_provider", "spend_by_workflow", "spend_by_day_and_dimension",
        "spend_by_week", "spend_by_model", "spend_by_team", "spend_by_tier", "spend_by_route",
        "tokens_by_kind", "reported_vs_estimated", "top_movers",
    ),
    "latency": ("latency_by_model", "latency_spread", "latency_by_day"),
    "failover": (
        "outage_windows", "workflows_without_fallback", "errors_by_hour", "failures_by_provider_model_route",
        "fallbacks", "errors_by_day",
    ),
    "compare": ("comparison", "arms"),
    "tiers": ("policy_check", "violations", "savings"),
    "weekly": (
        "spend_by_day", "spend_by_provider", "spend_by_workflow", "top_movers", "direct_keys", "comparison",
        "outage_windows", "workflows_without_fallback", "errors_by_hour", "latency_by_model",
        "latency_spread", "violations", "savings", "budgets",
    ),
    "plan": ("plan", "changes"),
}  # fmt: skip
_SUFFIX_FORMATS = {
    ".html": "html", ".htm": "html", ".md": "md", ".json": "json", ".csv": "csv", ".parquet": "parquet",
}  # fmt: skip

_TABLE_LINES = "\n\n".join(f"  {kind}: {', '.join(names)}" for kind, names in TABLES.items())
_REPORT_HELP = f"""Build a report from the calls database.

KIND: {", ".join(REPORT_KINDS)} (plan: the gateway migration plan). Every headline states its
definition and how many calls it rests on.

Times (--since, --until): {FORMS}.

Output: the terminal by default. -o FILE writes one file, its format taken from the suffix (html,
md, json, csv, parquet) unless --format says otherwise. For csv and parquet, a FILE ending in that
suffix holds the report's main table (or --table NAME), and a directory gets one file per table
plus headlines; csv without -o prints the main table on stdout.

Tables (the first is the main one; each report also has `headlines`):

{_TABLE_LINES}

{exits.HELP}

Examples:

  modelmeter report weekly -o weekly.html

  modelmeter report cost --since 30d --team platform --format md

  modelmeter report cost -o spend.csv --table spend_by_team

  modelmeter report compare --by run --a baseline --b gateway-pilot --workflow support-triage

  modelmeter report tiers --policy tiers.toml --format csv -o out/   (a directory: one CSV per table)
"""

_DB_OPTION = typer.Option(
    None, "--db", help="DuckDB file (default: MODELMETER_DB or $MODELMETER_HOME/modelmeter.duckdb)."
)
_NAME_FILTERS = ("workflow", "team", "provider", "model", "route")


def register(app: typer.Typer) -> None:
    @app.command("report", help=_REPORT_HELP)
    def _report(
        kind: str = typer.Argument(..., help=f"One of: {', '.join(REPORT_KINDS)}."),
        db: Path | None = _DB_OPTION,
        lake: str | None = typer.Option(
            None, "--lake", help="Read a Parquet lake (directory or s3://bucket/prefix) instead of --db."
        ),
        since: datetime | None = typer.Option(
            None, parser=parse_option, help="Start (inclusive): 2026-11-01, 2026-11-01T09:00, 7d, yesterday."
        ),
        until: datetime | None = typer.Option(
            None, parser=parse_option, help="End (exclusive); default just after the last call."
        ),
        workflow: list[str] = typer.Option([], help="Only these workflows (repeatable)."),
        team: list[str] = typer.Option([], help="Only these teams (repeatable)."),
        provider: list[str] = typer.Option([], help="Only these providers, e.g. openai (repeatable)."),
        model: list[str] = typer.Option(
            [], help="Only these canonical models, e.g. openai/gpt-4o (repeatable)."
        ),
        route: list[str] = typer.Option([], help="Only this route: direct or gateway (repeatable)."),
        by: str = typer.Option(
            "route", help="compare: the column that splits the two arms (route, run, gateway, ...)."
        ),
        a: str | None = typer.Option(None, "--a", help="compare: arm A's value (default direct for route)."),
        b: str | None = typer.Option(None, "--b", help="compare: arm B's value (default gateway for route)."),
        policy: Path | None = typer.Option(
            None, help="tiers, plan: policy TOML (default $MODELMETER_HOME/tiers.toml)."
        ),
        fmt: str | None = typer.Option(
            None,
            "--format",
            "-f",
            help=f"One of: {', '.join(FORMATS)} (default: from -o's suffix, else table).",
        ),
        output: Path | None = typer.Option(
            None,
            "-o",
            "--output",
            help="Write here instead of the terminal: a file, or a directory for csv/parquet.",
        ),
        table: str | None = typer.Option(
            None, help="csv/parquet: only this table (see the list above, or `headlines`)."
        ),
        budgets: Path | None = typer.Option(
            None,
            "--budgets",
            help="weekly: budgets TOML (default: $MODELMETER_HOME/budgets.toml if any).",
        ),
        keep_incidents: bool = typer.Option(
            False,
            "--keep-incidents",
            help="compare: keep calls inside outage windows (left out by default so one arm's incident "
            "does not decide the verdict).",
        ),
        wide: bool = typer.Option(
            False, "--wide", help="table: every column, more rows and each headline's definition."
        ),
    ) -> None:
        if kind not in REPORT_KINDS:
            raise exits.usage("report", f"unknown report {kind!r}: choose from {', '.join(REPORT_KINDS)}")
        fmt = _format(fmt, output)
        check_period("report", since, until)
        if table is not None and fmt not in ("csv", "parquet"):
            raise exits.usage("report", "--table applies to --format csv and parquet only")
        if table is not None and table not in ("headlines", *TABLES[kind]):
            raise exits.usage(
                "report",
                f"report {kind} has no table {table!r}: choose from headlines, {', '.join(TABLES[kind])}",
            )
        if fmt == "parquet" and output is None:
            raise exits.usage("report", "parquet is binary: give -o FILE.parquet or -o DIRECTORY")
        if output is not None:
            _check_target(output, fmt)
        from modelmeter.reports.params import ReportParams

        filters = {
            name: tuple(values)
            for name, values in zip(_NAME_FILTERS, (workflow, team, provider, model, route), strict=True)
            if values
        }
        params = ReportParams(
            since=since,
            until=until,
            filters=filters,
            by=by,
            a=a,
            b=b,
            policy=policy,
            budgets=budgets,
            keep_incidents=keep_incidents,
        )
        if lake and db:
            raise exits.usage("report", "give --db or --lake, not both")
        _emit(_build(kind, db, lake, params), fmt, output, table, wide)


def _format(fmt: str | None, output: Path | None) -> str:
    """--format, else what -o's suffix says, else the terminal table; a contradiction is refused."""
    suffix = output.suffix.lower() if output is not None else ""
    implied = _SUFFIX_FORMATS.get(suffix)
    if fmt is None:
        return implied or "table"
    if fmt not in FORMATS:
        raise exits.usage("report", f"unknown format {fmt!r}: choose from {', '.join(FORMATS)}")
    if implied is not None and implied != fmt:
        raise exits.usage("report", f"-o {output} ends in {suffix} but --format is {fmt}")
    return fmt


def _check_target(output: Path, fmt: str) -> None:
    """Refuse a target that cannot be written before any work is done (one line, not a traceback)."""
    is_dir_target = fmt in ("csv", "parquet") and output.suffix.lower() not in (".csv", ".parquet")
    parent = output.parent if not (is_dir_target and output.is_dir()) else output
    if not parent.is_dir():
        raise exits.usage("report", f"cannot write {output}: the directory {parent} does not exist")
    if is_dir_target and output.exists() and not output.is_dir():
        raise exits.usage(
            "report", f"{output} is a file: name a .{fmt} file, or a directory for one file per table"
        )
    if not is_dir_target and output.is_dir():
        raise exits.usage("report", f"{output} is a directory: name a file")


def _build(kind: str, db: Path | None, lake: str | None, params: ReportParams) -> Report:
    from modelmeter.ingest.store import DamagedDatabase, damage_reported
    from modelmeter.reports import ReportDataError, build_report, default_db_path, open_db
    from modelmeter.reports.source import known_values, open_lake

    try:
        con = open_lake(lake) if lake else open_db(db or default_db_path())
    except ReportDataError as exc:
        raise exits.fail("report", str(exc), exits.NO_DATA) from exc
    for column, values in params.filters.items():
        _check_names(f"--{column}", values, known_values(con, column))
    by, a, b = params.by, params.a, params.b
    try:
        if kind == "compare" and by != "route":
            from modelmeter.reports.compare import arms_of

            arms_of(con, params)  # an unknown --by column is refused here, by name
            known = known_values(con, by)
            _check_names("--a", (a,) if a else (), known)
            _check_names("--b", (b,) if b else (), known)
        elif kind == "compare":
            _check_names("--a", (a,) if a else (), ["direct", "gateway"])
            _check_names("--b", (b,) if b else (), ["direct", "gateway"])
        with damage_reported(db or default_db_path()):
            return build_report(kind, con, params)
    except DamagedDatabase as exc:
        raise exits.fail("report", str(exc), exits.NO_DATA) from exc
    except ValueError as exc:  # a bad --by, a missing or malformed --policy
        raise exits.usage("report", str(exc)) from exc
    except ReportDataError as exc:
        raise exits.fail("report", str(exc), exits.NO_DATA) from exc
    finally:
        con.close()


def _check_names(option: str, values: tuple[str, ...], known: list[str]) -> None:
    unknown = [value for value in values if value not in known]
    if unknown:
        shown = ", ".join(known[:30]) + (f" and {len(known) - 30} more" if len(known) > 30 else "")
        raise exits.usage(
            "report",
            f"no calls with {option} {', '.join(map(repr, unknown))}: known values are {shown or 'none'}",
        )


def _emit(report: Report, fmt: str, output: Path | None, table: str | None, wide: bool) -> None:
    from modelmeter.reports.render import render, render_terminal
    from modelmeter.reports.render.data import frame_csv, write_tables

    try:
        if fmt in ("csv", "parquet") and output is not None:
            written = write_tables(report, fmt, output, table)
            where = written[0] if len(written) == 1 else f"{len(written)} files under {output}"
            typer.echo(f"wrote {where}", err=True)
        elif fmt == "csv":
            typer.echo(frame_csv(report, table), nl=False)
        elif output is not None:
            output.write_text(render(report, fmt), encoding="utf-8")
            typer.echo(f"wrote {output}", err=True)
        elif fmt == "table":
            from rich.console import Console

            render_terminal(report, Console(), wide=wide)
        else:
            typer.echo(render(report, fmt))
    except ValueError as exc:  # a --table this run's report does not have
        raise exits.usage("report", str(exc)) from exc
    except OSError as exc:
        raise exits.fail(
            "report", f"cannot write {exc.filename or output}: {exc.strerror or exc}", exits.FAILED
        ) from exc
