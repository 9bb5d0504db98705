"""HTML output: one self-contained file (inline CSS and SVG, no scripts, no network) for browser and email.

The page opens with the ranked findings, then one part per section: its headline cards (the lead
ones larger), its charts and its tables (human headers, numbers right-aligned, the first column
fixed while a wide table scrolls inside its box). Jinja escapes every value from the data.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import jinja2

from modelmeter.reports.model import Report, Table
from modelmeter.reports.render.charts import svg
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

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("modelmeter.reports.render", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _table(table: Table) -> dict[str, Any]:
    frame = table.frame
    right = {name: is_numeric(dtype) for name, dtype in frame.schema.items()}
    return {
        "title": table.title,
        "description": table.description,
        "columns": [(column_label(name), right[name]) for name in frame.columns],
        "rows": [
            [(cell(value, name), right[name]) for value, name in zip(row, frame.columns, strict=True)]
            for row in frame.head(MAX_ROWS).iter_rows()
        ],
        "more": max(0, frame.height - MAX_ROWS),
    }


def render_html(report: Report) -> str:
    by_key = {h.key: h for h in report.headlines}
    tables = {t.name: t for t in report.tables}
    charts = {c.name: c for c in report.charts}
    parts = []
    for section in sections(report):
        heads = [by_key[key] for key in section.headlines if key in by_key]
        drawn = [
            (charts[name].title, svg(charts[name], report))
            for name in section.charts
            if name in charts and not report.table(charts[name].table).frame.is_empty()
        ]
        shown = [
            _table(tables[name])
            for name in section.tables
            if name in tables and not tables[name].frame.is_empty()
        ]
        if heads or drawn or shown:
            parts.append(
                {
                    "key": section.key,
                    "title": section.title,
                    "lead": [(h, headline_value(h)) for h in heads[: section.lead]],
                    "cards": [(h, headline_value(h)) for h in heads[section.lead :]],
                    "charts": drawn,
                    "tables": shown,
                }
            )
    return _ENV.get_template("report.html.j2").render(
        report=report,
        period=period(report),
        filters=filters(report),
        sections=parts,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
