"""Markdown output: findings with links to their sections, headlines, aligned pipe tables, notes."""

from __future__ import annotations

from modelmeter.reports.model import Report, Table
from modelmeter.reports.render.format import (
    MAX_ROWS,
    cell,
    column_label,
    filters,
    headline_value,
    is_numeric,
    period,
    sections,
)


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _pipe_table(header: list[str], rows: list[list[str]], right: list[bool]) -> list[str]:
    """A pipe table padded so its columns line up in the source too; numbers right-aligned."""
    widths = [max(3, len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]

    def line(cells: list[str]) -> str:
        padded = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True)]
        return "| " + " | ".join(padded) + " |"

    rule = (
        "| "
        + " | ".join(("-" * (w - 1) + ":") if r else "-" * w for w, r in zip(widths, right, strict=True))
        + " |"
    )
    return [line(header), rule, *(line(row) for row in rows)]


def _table(table: Table) -> list[str]:
    frame = table.frame
    header = [_escape(column_label(name)) for name in frame.columns]
    rows = [
        [_escape(cell(value, name)) for value, name in zip(row, frame.columns, strict=True)]
        for row in frame.head(MAX_ROWS).iter_rows()
    ]
    lines = _pipe_table(header, rows, [is_numeric(frame.schema[name]) for name in frame.columns])
    if frame.height > MAX_ROWS:
        lines += ["", f"… {frame.height - MAX_ROWS:,} more rows (use --format csv or json)."]
    return lines


def render_markdown(report: Report) -> str:
    lines = [
        f"# {report.title}",
        "",
        f"Period: {period(report)}. Filters: {filters(report)}. Based on {report.based_on:,} calls.",
        "",
    ]
    if report.findings:
        lines += ["## Findings", ""]
        lines += [
            f"{n}. {_escape(f.text)} ([{f.section}](#{f.section}))" for n, f in enumerate(report.findings, 1)
        ]
        lines.append("")
    elif report.summary:
        lines += [_escape(report.summary), ""]
    by_key = {h.key: h for h in report.headlines}
    tables = {t.name: t for t in report.tables}
    for section in sections(report):
        heads = [by_key[key] for key in section.headlines if key in by_key]
        parts = [
            tables[name] for name in section.tables if name in tables and not tables[name].frame.is_empty()
        ]
        if not heads and not parts:
            continue
        lines += [f'<a id="{section.key}"></a>', "", f"## {section.title}", ""]
        if heads:
            lines += _pipe_table(
                ["Headline", "Value", "Calls", "Definition"],
                [
                    [_escape(h.label), _escape(headline_value(h)), f"{h.based_on:,}", _escape(h.definition)]
                    for h in heads
                ],
                [False, True, True, False],
            )
        for table in parts:
            lines += ["", f"### {table.title}", ""]
            if table.description:
                lines += [_escape(table.description), ""]
            lines += _table(table)
        lines.append("")
    if report.notes:
        lines += ["## Notes", ""] + [f"- {_escape(note)}" for note in report.notes]
    return "\n".join(lines).rstrip("\n") + "\n"
