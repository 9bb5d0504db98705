"""Markdown output: headlines with their definitions, tables as pipe tables, notes as footnotes."""

from __future__ import annotations

from modelmeter.reports.model import Report
from modelmeter.reports.render.format import MAX_ROWS, cell, filters, headline_value, period


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report) -> str:
    lines = [
        f"# {report.title}",
        "",
        f"Period: {period(report)}. Filters: {filters(report)}. Based on {report.based_on:,} calls.",
        "",
    ]
    if report.summary:
        lines += [report.summary, ""]
    lines += ["## Headlines", "", "| Headline | Value | Calls | Definition |", "|---|---:|---:|---|"]
    lines += [
        f"| {_escape(h.label)} | {_escape(headline_value(h))} | {h.based_on:,} | {_escape(h.definition)} |"
        for h in report.headlines
    ]
    for table in report.tables:
        if table.frame.is_empty():
            continue
        lines += ["", f"## {table.title}", ""]
        if table.description:
            lines += [table.description, ""]
        lines.append("| " + " | ".join(table.frame.columns) + " |")
        lines.append("|" + "---|" * table.frame.width)
        lines += [
            "| " + " | ".join(_escape(cell(v)) for v in row) + " |"
            for row in table.frame.head(MAX_ROWS).iter_rows()
        ]
        if table.frame.height > MAX_ROWS:
            lines.append(f"\n… {table.frame.height - MAX_ROWS:,} more rows (use --format csv or json).")
    if report.notes:
        lines += ["", "## Notes", ""] + [f"- {_escape(note)}" for note in report.notes]
    return "\n".join(lines) + "\n"
