"""Renderers: any Report to terminal (rich), HTML (one offline file), Markdown, JSON, CSV or Parquet."""

from __future__ import annotations

from modelmeter.reports.model import Report
from modelmeter.reports.render.data import render_json, write_tables
from modelmeter.reports.render.html import render_html
from modelmeter.reports.render.markdown import render_markdown
from modelmeter.reports.render.terminal import render_terminal, render_text

TEXT_FORMATS = ("table", "html", "md", "json")
FILE_FORMATS = ("csv", "parquet")


def render(report: Report, fmt: str) -> str:
    """The report as text in `fmt` (html, md or json; `table` is the terminal output at 80 columns)."""
    if fmt == "html":
        return render_html(report)
    if fmt == "md":
        return render_markdown(report)
    if fmt == "json":
        return render_json(report)
    if fmt == "table":
        return render_text(report)
    raise ValueError(f"unknown format {fmt!r}: choose from {', '.join(TEXT_FORMATS + FILE_FORMATS)}")


__all__ = ["FILE_FORMATS", "TEXT_FORMATS", "render", "render_terminal", "write_tables"]
