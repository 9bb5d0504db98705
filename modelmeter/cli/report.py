"""`modelmeter report KIND` and `modelmeter check`: thin layers over modelmeter.reports."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import typer

REPORT_KINDS = ("inventory", "cost", "latency", "failover", "compare", "tiers", "weekly", "plan")
FORMATS = ("table", "html", "md", "csv", "json", "parquet")
EXIT_DATA_ERROR = 3

_REPORT_HELP = """Build a report from the calls database.

KIND: inventory, cost, latency, failover, compare, tiers, weekly or plan (the gateway migration plan).

Every headline states its definition and how many calls it rests on.

Times: an ISO date or datetime (UTC unless stated), or an age such as 7d, 24h, 2w.

Examples:

  modelmeter report weekly --format html -o weekly.html

  modelmeter report cost --since 30d --team platform --format md

  modelmeter report compare --by run --a baseline --b gateway-pilot --workflow support-triage

  modelmeter report tiers --policy tiers.toml --format csv -o out/   (a directory: one CSV per table)
"""

_CHECK_HELP = "\n\n".join(
    [
        "Check spend against budgets and forecast each period's end from the run rate.",
        "Budgets are TOML (default $MODELMETER_HOME/budgets.toml, or --config).",
        "Exit codes: 0 ok; 1 warn (a warn limit is crossed, or the forecast reaches a limit); "
        "2 fail (a fail limit is crossed); 3 the database or config is missing or invalid. "
        "Command-line usage errors also exit 2, as in every click program: --format json tells them apart.",
        # rich markup: \\[ prints a literal bracket
        "Config (periods: day, week, month; calendar periods in UTC; sections \\[total], "
        "\\[workflow.NAME], \\[team.NAME], \\[provider.NAME]):",
        "  \\[total]",
        "  month = { warn = 8000, fail = 10000 }",
        "  \\[workflow.support-triage]",
        "  day = { warn = 40, fail = 50 }",
        "Example (cron, webhook): modelmeter check --format json > status.json || notify",
    ]
)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"modelmeter: {message}", err=True)
    return typer.Exit(EXIT_DATA_ERROR)


_DB_OPTION = typer.Option(
    None, "--db", help="DuckDB file (default: MODELMETER_DB or $MODELMETER_HOME/modelmeter.duckdb)."
)


def register(app: typer.Typer) -> None:
    @app.command("report", help=_REPORT_HELP)
    def _report(
        kind: str = typer.Argument(..., help=f"One of: {', '.join(REPORT_KINDS)}."),
        db: Path | None = _DB_OPTION,
        since: str | None = typer.Option(None, help="Start (inclusive): 2026-11-01, 2026-11-01T09:00, 7d."),
        until: str | None = typer.Option(None, help="End (exclusive); default just after the last call."),
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
        fmt: str = typer.Option("table", "--format", "-f", help=f"One of: {', '.join(FORMATS)}."),
        output: Path | None = typer.Option(
            None,
            "-o",
            "--output",
            help="Write here instead of stdout (csv/parquet: a directory, or a file with --table).",
        ),
        table: str | None = typer.Option(None, help="csv/parquet: write only this table (or `headlines`)."),
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
        from modelmeter.ingest.store import damage_reported
        from modelmeter.reports import ReportDataError, build_report, default_db_path, open_db
        from modelmeter.reports.params import ReportParams, parse_when
        from modelmeter.reports.render import FILE_FORMATS, render, render_terminal, write_tables

        if kind not in REPORT_KINDS:
            raise _fail(f"unknown report {kind!r}: choose from {', '.join(REPORT_KINDS)}")
        if fmt not in FORMATS:
            raise _fail(f"unknown format {fmt!r}: choose from {', '.join(FORMATS)}")
        now = datetime.now(UTC)
        try:
            params = ReportParams(
                since=parse_when(since, now) if since else None,
                until=parse_when(until, now) if until else None,
                filters={
                    k: tuple(v)
                    for k, v in {
                        "workflow": workflow,
                        "team": team,
                        "provider": provider,
                        "model": model,
                        "route": route,
                    }.items()
                    if v
                },
                by=by,
                a=a,
                b=b,
                policy=policy,
                budgets=budgets,
                keep_incidents=keep_incidents,
            )
            con = open_db(db or default_db_path())
            with damage_reported(db or default_db_path()):
                report = build_report(kind, con, params)
        except (ReportDataError, ValueError) as exc:  # DamagedDatabase is a ValueError
            raise _fail(str(exc)) from exc
        if fmt in FILE_FORMATS:
            target = output or Path(f"modelmeter-{kind}")
            written = write_tables(report, fmt, target, table)
            typer.echo(f"wrote {len(written)} file(s) under {target}", err=True)
        elif fmt == "table" and output is None:
            from rich.console import Console

            render_terminal(report, Console(), wide=wide)
        elif output is not None:
            output.write_text(render(report, fmt))
            typer.echo(f"wrote {output}", err=True)
        else:
            typer.echo(render(report, fmt))

    @app.command("check", help=_CHECK_HELP)
    def _check(
        db: Path | None = _DB_OPTION,
        config: Path | None = typer.Option(
            None, "--config", help="Budgets TOML (default $MODELMETER_HOME/budgets.toml)."
        ),
        at: str | None = typer.Option(None, help="Check as of this time (default now): ISO date/datetime."),
        fmt: str = typer.Option("table", "--format", "-f", help="table or json."),
    ) -> None:
        from modelmeter.ingest.store import damage_reported
        from modelmeter.reports import ReportDataError, default_db_path, open_db
        from modelmeter.reports.budgets import (
            EXIT_CODES,
            check_budgets,
            default_config_path,
            load_budgets,
            overall,
        )
        from modelmeter.reports.params import parse_when

        now = datetime.now(UTC)
        path = config or default_config_path()
        try:
            when = parse_when(at, now) if at else now
            budgets = load_budgets(path)
            con = open_db(db or default_db_path())
            with damage_reported(db or default_db_path()):
                checks = check_budgets(con, budgets, when)
        except (ReportDataError, ValueError) as exc:
            raise _fail(str(exc)) from exc
        status = overall(checks)
        if fmt == "json":
            typer.echo(
                json.dumps(
                    {
                        "status": status,
                        "exit_code": EXIT_CODES[status],
                        "at": when.isoformat(),
                        "budgets": [
                            {
                                "scope": c.budget.scope,
                                "name": c.budget.name,
                                "period": c.budget.period,
                                "period_start": c.period_start.isoformat(),
                                "period_end": c.period_end.isoformat(),
                                "warn_usd": c.budget.warn,
                                "fail_usd": c.budget.fail,
                                "spent_usd": round(c.spent_usd, 6),
                                "projected_usd": round(c.projected_usd, 6),
                                "calls": c.calls,
                                "status": c.status,
                                "reason": c.reason,
                            }
                            for c in checks
                        ],
                    },
                    indent=2,
                )
            )
        else:
            from rich.console import Console
            from rich.table import Table

            table = Table(
                title=f"Budgets as of {when:%Y-%m-%d %H:%M} UTC: {status.upper()}", title_justify="left"
            )
            for column in ("Budget", "Status", "Spent", "Forecast", "Warn", "Fail", "Calls", "Why"):
                table.add_column(column)
            for c in checks:
                table.add_row(
                    c.budget.label,
                    c.status,
                    f"{c.spent_usd:,.2f}",
                    f"{c.projected_usd:,.2f}",
                    "" if c.budget.warn is None else f"{c.budget.warn:,.2f}",
                    "" if c.budget.fail is None else f"{c.budget.fail:,.2f}",
                    f"{c.calls:,}",
                    c.reason,
                )
            Console().print(table)
        raise typer.Exit(EXIT_CODES[status])
