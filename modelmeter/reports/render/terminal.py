"""Terminal output: rich tables for headlines and each report table (charts live in the HTML output)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table as RichTable

from modelmeter.reports.model import Report
from modelmeter.reports.render.format import MAX_ROWS, cell, filters, headline_value, period


def render_terminal(report: Report, console: Console) -> None:
    console.print(f"[bold]{report.title}[/bold]")
    console.print(
        f"Period: {period(report)} · filters: {filters(report)} · based on {report.based_on:,} calls"
    )
    if report.summary:
        console.print(f"\n{report.summary}")
    heads = RichTable(title="Headlines", title_justify="left", show_lines=False)
    for name in ("Headline", "Value", "Calls", "Definition"):
        heads.add_column(name, overflow="fold")
    for h in report.headlines:
        heads.add_row(h.label, headline_value(h), f"{h.based_on:,}", h.definition)
    console.print(heads)
    for table in report.tables:
        if table.frame.is_empty():
            continue
        rich_table = RichTable(title=table.title, title_justify="left", caption=table.description or None)
        for column in table.frame.columns:
            rich_table.add_column(column, overflow="fold")
        for row in table.frame.head(MAX_ROWS).iter_rows():
            rich_table.add_row(*(cell(value) for value in row))
        if table.frame.height > MAX_ROWS:
            rich_table.add_row(f"… {table.frame.height - MAX_ROWS:,} more rows (use --format csv or json)")
        console.print(rich_table)
    for note in report.notes:
        console.print(f"[dim]Note: {note}[/dim]")
