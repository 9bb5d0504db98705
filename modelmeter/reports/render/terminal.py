"""Terminal output: findings, headlines as `label: value` lines, and tables that fit the console.

A report fits the console's width without breaking a word: each table shows the columns that fit,
first column first (`wide` shows them all), and the page stays short (about `LINE_BUDGET` lines):
tables that would pass the budget are named at the end instead; every format but this one carries
them whole. Report text is printed as text, never as rich markup (a `[lo, hi]` interval stays).
"""

from __future__ import annotations

import io

from rich import box
from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from modelmeter.reports.model import Report, Table
from modelmeter.reports.render.format import (
    cell,
    column_label,
    filters,
    headline_value,
    is_numeric,
    period,
    sections,
)

LINE_BUDGET = 150
TABLE_ROWS = 8  # rows per table in the terminal (all of them, up to 40, with `wide`)
WIDE_ROWS = 40
LABEL_WIDTH = 36  # headline labels wrap between words past this
TEXT_WIDTH = 30  # a text column wider than this wraps between words
GAP = 3  # between two columns: padding, an invisible rule, padding


def render_terminal(report: Report, console: Console, wide: bool = False) -> None:
    """Print `report` to `console`; `wide` shows every column, row (up to 40) and definition."""
    lines: list[Text | RichTable] = [Text(report.title, style="bold")]
    lines.append(Text(f"Period: {period(report)} · filters: {filters(report)} · {report.based_on:,} calls"))
    if report.findings:
        lines.append(Text("\nFindings", style="bold"))
        lines += [
            Text(f"{number}. {finding.text}", style="red" if finding.level == "act" else "")
            for number, finding in enumerate(report.findings, 1)
        ]
    elif report.summary:
        lines.append(Text(f"\n{report.summary}"))
    by_key = {h.key: h for h in report.headlines}
    for section in sections(report):
        heads = [by_key[key] for key in section.headlines if key in by_key]
        if not heads:
            continue
        lines.append(Text(f"\n{section.title}", style="bold"))
        grid = RichTable.grid(padding=(0, 1, 0, 2))
        grid.add_column(max_width=min(max(len(h.label) + 1 for h in heads), LABEL_WIDTH))
        grid.add_column(min_width=24)
        for h in heads:
            grid.add_row(Text(f"{h.label}:"), Text(headline_value(h)))
            if wide:
                grid.add_row(Text(""), Text(f"{h.definition} Based on {h.based_on:,} calls.", style="dim"))
        lines.append(grid)
    _print_budgeted(report, console, lines, wide)


def _print_budgeted(report: Report, console: Console, head: list[Text | RichTable], wide: bool) -> None:
    """Print the head, then each table while the page stays within the line budget, then the notes."""
    width = console.width
    used = 0
    for item in head:
        used += _lines(item, width)
        console.print(item)
    tail = [Text(f"Note: {note}", style="dim") for note in report.notes]
    tail_lines = sum(_lines(item, width) for item in tail)
    left_out: list[str] = []
    tables = {t.name: t for t in report.tables}
    names = [name for section in sections(report) for name in section.tables if name in tables]
    for table in (tables[name] for name in names):
        if table.frame.is_empty():
            continue
        rendered = _table(table, width, wide)
        lines = _lines(rendered, width) + 1
        if not wide and used + lines + tail_lines + 5 > LINE_BUDGET:
            left_out.append(table.title)
            continue
        console.print()
        console.print(rendered)
        used += lines
    for item in tail:
        console.print(item)
    if left_out:
        console.print(
            Text(
                f"Not shown here: {'; '.join(left_out)}. "
                "See --wide, or --format html, md, csv or json for every table.",
                style="dim",
            )
        )


def _table(table: Table, width: int, wide: bool) -> RichTable:
    """The table with the columns that fit `width` (all with `wide`), first column always.

    A column is as wide as its longest cell, or for text as its longest word when that is less than
    `TEXT_WIDTH` (the text then wraps between words); a header wraps between its words. Columns are
    taken in order while they fit, so no word is ever cut.
    """
    limit = WIDE_ROWS if wide else TABLE_ROWS
    frame = table.frame
    shown = frame.head(limit)
    cells = {name: [cell(value, name) for value in shown[name].to_list()] for name in frame.columns}
    numeric = {name: is_numeric(frame.schema[name]) for name in frame.columns}
    widths = {}
    for name in frame.columns:
        header = max(len(word) for word in column_label(name).split())
        longest = max((len(text) for text in cells[name]), default=0)
        if not numeric[name]:
            words = max((len(word) for text in cells[name] for word in text.split()), default=0)
            longest = max(words, min(longest, TEXT_WIDTH))
        widths[name] = max(header, longest, 1)
    columns: list[str] = []
    used = 0
    for name in frame.columns:
        needed = widths[name] + (GAP if columns else 0)
        if wide or not columns or used + needed <= width:
            columns.append(name)
            used += needed
    rich_table = RichTable(
        title=table.title,
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1),
        show_edge=False,
    )
    for name in columns:
        rich_table.add_column(
            column_label(name),
            justify="right" if numeric[name] else "left",
            width=widths[name],
            overflow="fold",
        )
    for index in range(shown.height):
        rich_table.add_row(*(Text(cells[name][index]) for name in columns))
    hidden = len(frame.columns) - len(columns)
    notes = []
    if frame.height > limit:
        notes.append(f"{limit} of {frame.height:,} rows")
    if hidden:
        notes.append(f"{hidden} more columns with --wide")
    if notes:
        rich_table.caption = "; ".join(notes) + "."
        rich_table.caption_justify = "left"
    return rich_table


def _lines(item: Text | RichTable, width: int) -> int:
    """How many lines `item` takes at `width`."""
    console = Console(width=width, file=io.StringIO(), record=True)
    console.print(item)
    return len(console.export_text().splitlines())


def render_text(report: Report, width: int = 80, wide: bool = False) -> str:
    """The terminal output as plain text at `width` columns (what `--format table -o FILE` writes)."""
    console = Console(record=True, width=width, file=io.StringIO(), color_system=None)
    render_terminal(report, console, wide=wide)
    return console.export_text()
