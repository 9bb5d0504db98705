"""HTML output: one self-contained file (inline CSS and SVG, no scripts, no network) for browser and email."""

from __future__ import annotations

from datetime import UTC, datetime

import jinja2

from modelmeter.reports.model import Report
from modelmeter.reports.render.charts import svg
from modelmeter.reports.render.format import MAX_ROWS, cell, filters, headline_value, period

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("modelmeter.reports.render", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_html(report: Report) -> str:
    charts = [
        (chart.title, svg(chart, report))
        for chart in report.charts
        if not report.table(chart.table).frame.is_empty()
    ]
    tables = [
        {
            "title": t.title,
            "description": t.description,
            "columns": t.frame.columns,
            "rows": [[cell(v) for v in row] for row in t.frame.head(MAX_ROWS).iter_rows()],
            "more": max(0, t.frame.height - MAX_ROWS),
        }
        for t in report.tables
        if not t.frame.is_empty()
    ]
    return _ENV.get_template("report.html.j2").render(
        report=report,
        period=period(report),
        filters=filters(report),
        headlines=[(h, headline_value(h)) for h in report.headlines],
        charts=charts,
        tables=tables,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
