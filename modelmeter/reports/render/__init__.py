"""Renderers: any Report to terminal (rich), HTML (one offline file), Markdown, JSON, CSV or Parquet."""

from __future__ import annotations

from modelmeter.reports.model import Report
from modelmeter.reports.render.data import render_json, write_tables
from modelmeter.reports.render.html import render_html
from modelmeter.reports.render.markdown import render_markdown
from modelmeter.reports.render.terminal import render_terminal

TEXT_FORMATS = ("table", "html", "md", "json")
FILE_FORMATS = ("csv", "parquet")


def render(report: Report, fmt: str) -> str:
    """The report as text in `fmt` (html, md or json; `table` renders to a plain-text rich console)."""
    if fmt == "html":
        return render_html(report)
    if fmt == "md":
        return render_markdown(report)
    if fmt == "json":
        return render_json(report)
    if fmt == "table":
        import io

        from rich.console import Console

        console = Console(record=True, width=160, file=io.StringIO())
        render_terminal(report, console)
        return console.export_text()
    raise ValueError(f"unknown format {fmt!r}: choose from {', '.join(TEXT_FORMATS + FILE_FORMATS)}")


__all__ = ["FILE_FORMATS", "TEXT_FORMATS", "render", "render_terminal", "write_tables"]
