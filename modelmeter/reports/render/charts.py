"""Charts: a report's declarative Chart over one of its tables, as Vega-Lite (altair) and inline SVG."""

from __future__ import annotations

from typing import Any

import altair as alt
import polars as pl

from modelmeter.reports.model import Chart, Report


def vega_lite(chart: Chart, frame: pl.DataFrame) -> dict[str, Any]:
    """The chart as a self-contained Vega-Lite spec (data inlined, so it renders offline)."""
    mark = {"line": alt.Chart.mark_line, "bar": alt.Chart.mark_bar, "point": alt.Chart.mark_point}[chart.mark]
    data = frame.select([c for c in (chart.x, chart.y, chart.color) if c]).drop_nulls(chart.y)
    encoding: dict[str, Any] = {
        "x": alt.X(f"{chart.x}:{chart.x_type[0].upper()}", title=None),
        "y": alt.Y(f"{chart.y}:Q", title=chart.y_title or chart.y),
    }
    if chart.color:
        encoding["color"] = alt.Color(
            f"{chart.color}:N", title=None, legend=alt.Legend(orient="bottom", columns=3)
        )
    spec = (
        mark(alt.Chart(data))
        .encode(**encoding)
        .properties(width=640, height=220, title=chart.title)
        .to_dict()
    )
    return spec


def svg(chart: Chart, report: Report) -> str:
    """Inline SVG for the HTML report: rendered here (vl-convert), so the page needs no JavaScript."""
    import vl_convert

    return str(vl_convert.vegalite_to_svg(vega_lite(chart, report.table(chart.table).frame)))
