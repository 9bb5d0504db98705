"""`modelmeter check`: budgets against spend so far and the forecast (modelmeter.reports.budgets)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from modelmeter.cli import exits
from modelmeter.cli.times import FORMS, parse_option

if TYPE_CHECKING:
    from modelmeter.reports.budgets import BudgetCheck

_CHECK_HELP = "\n\n".join(
    [
        "Check spend against budgets and forecast each period's end from the run rate.",
        "Budgets are TOML (default $MODELMETER_HOME/budgets.toml, or --config).",
        "Exit codes: 0 every budget ok; 1 a warning (a warn limit is crossed, the forecast reaches a "
        "limit, or a budget's workflow, team or provider has no calls this period); 2 a fail limit is "
        "crossed; 4 no database or no calls in it yet; 64 a bad option or budgets file (limits that are "
        "not numbers, negative, warn above fail, a name with no calls at all: a typo?).",
        f"--at takes {FORMS}.",
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


def register(app: typer.Typer) -> None:
    @app.command("check", help=_CHECK_HELP)
    def _check(
        db: Path | None = typer.Option(
            None, "--db", help="DuckDB file (default: MODELMETER_DB or $MODELMETER_HOME/modelmeter.duckdb)."
        ),
        config: Path | None = typer.Option(
            None, "--config", help="Budgets TOML (default $MODELMETER_HOME/budgets.toml)."
        ),
        at: datetime | None = typer.Option(
            None, parser=parse_option, help="Check as of this time (default now), e.g. 2026-11-30, yesterday."
        ),
        fmt: str = typer.Option("table", "--format", "-f", help="table or json."),
    ) -> None:
        from modelmeter.ingest.store import DamagedDatabase, damage_reported
        from modelmeter.reports import ReportDataError, default_db_path, open_db
        from modelmeter.reports.budgets import (
            SCOPES,
            BudgetConfigError,
            check_budgets,
            default_config_path,
            load_budgets,
        )
        from modelmeter.reports.source import known_values

        if fmt not in ("table", "json"):
            raise exits.usage("check", f"unknown format {fmt!r}: choose table or json")
        when = at or datetime.now(UTC)
        path = config or default_config_path()
        try:
            budgets = load_budgets(path)
        except BudgetConfigError as exc:
            raise exits.fail("check", str(exc), exits.USAGE) from exc
        try:
            con = open_db(db or default_db_path())
        except ReportDataError as exc:
            raise exits.fail("check", str(exc), exits.NO_DATA) from exc
        try:
            known = {scope: known_values(con, scope) for scope in SCOPES}
            for budget in budgets:
                if budget.name is not None and budget.name not in known[budget.scope]:
                    names = ", ".join(known[budget.scope]) or "none"
                    raise exits.fail(
                        "check",
                        f"{path}: [{budget.scope}.{budget.name}]: no calls for {budget.scope} {budget.name} "
                        f"at all: a typo? known {budget.scope}s: {names}",
                        exits.USAGE,
                    )
            with damage_reported(db or default_db_path()):
                checks = check_budgets(con, budgets, when)
        except DamagedDatabase as exc:
            raise exits.fail("check", str(exc), exits.NO_DATA) from exc
        finally:
            con.close()
        _print(checks, when, fmt)


def _print(checks: list[BudgetCheck], when: datetime, fmt: str) -> None:
    from modelmeter.reports.budgets import EXIT_CODES, overall

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
        from rich.text import Text

        table = Table(
            title=f"Budgets as of {when:%Y-%m-%d %H:%M} UTC: {status.upper()}", title_justify="left"
        )
        for column in ("Budget", "Status", "Spent", "Forecast", "Warn", "Fail", "Calls", "Why"):
            table.add_column(column)
        for c in checks:
            table.add_row(
                Text(c.budget.label),  # user text: never read as rich markup
                c.status,
                f"{c.spent_usd:,.2f}",
                f"{c.projected_usd:,.2f}",
                "" if c.budget.warn is None else f"{c.budget.warn:,.2f}",
                "" if c.budget.fail is None else f"{c.budget.fail:,.2f}",
                f"{c.calls:,}",
                Text(c.reason),
            )
        Console().print(table)
    raise typer.Exit(EXIT_CODES[status])
