"""Charts: a report's declarative Chart over its tables, as Vega-Lite (altair) and inline SVG (vl-convert).

Days are labelled as days (`Mon 30 Nov`, one bar each), categories read horizontally, intervals are
drawn as whiskers, and time windows (incidents) are shaded behind the line they explain.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import altair as alt
import polars as pl

from modelmeter.reports.model import Chart, Report
from modelmeter.reports.render.format import column_kind

WIDTH = 620
_LEGEND = alt.Legend(orient="bottom", columns=3, title=None)
_AXIS = alt.Axis(labelLimit=260)


def _day_labels(frame: pl.DataFrame, column: str) -> tuple[pl.DataFrame, list[str]]:
    """`column` (UTC midnights) as `Mon 30 Nov` labels, with their order."""
    days = sorted(frame[column].drop_nulls().unique().to_list())
    labels = [day.strftime("%a %d %b") for day in days]
    mapping = dict(zip(days, labels, strict=True))
    return frame.with_columns(pl.col(column).replace_strict(mapping, return_dtype=pl.String)), labels


def _stacked_bars(chart: Chart, frame: pl.DataFrame) -> alt.Chart:
    data = frame.select(chart.x, chart.y, *([chart.color] if chart.color else [])).drop_nulls(chart.y)
    order: list[str] | None = None
    if data.schema[chart.x] in (pl.Datetime, pl.Date) or isinstance(data.schema[chart.x], pl.Datetime):
        data, order = _day_labels(data, chart.x)
    encoding: dict[str, Any] = {
        "x": alt.X(f"{chart.x}:O", title=None, sort=order, axis=alt.Axis(labelAngle=0)),
        "y": alt.Y(f"sum({chart.y}):Q", title=chart.y_title),
    }
    if chart.color:
        encoding["color"] = alt.Color(f"{chart.color}:N", legend=_LEGEND)
    return alt.Chart(data).mark_bar().encode(**encoding)


def _intervals(chart: Chart, frame: pl.DataFrame) -> Any:
    assert chart.low and chart.high
    data = frame.select(chart.x, chart.y, chart.low, chart.high).drop_nulls(chart.y)
    y = alt.Y(f"{chart.x}:N", title=None, sort=None, axis=_AXIS)
    base = alt.Chart(data)
    zero = alt.Chart(pl.DataFrame({"zero": [0]})).mark_rule(color="#888").encode(x="zero:Q")
    whiskers = base.mark_rule(strokeWidth=2).encode(
        y=y, x=alt.X(f"{chart.low}:Q", title=chart.y_title), x2=f"{chart.high}:Q"
    )
    points = base.mark_point(filled=True, size=70).encode(y=y, x=f"{chart.y}:Q")
    return alt.layer(zero, whiskers, points)


def _axis_format(column: str) -> str:
    return ".0%" if column_kind(column) in ("ratio", "change") else ",~r"


def _lines(chart: Chart, frame: pl.DataFrame, bands: pl.DataFrame | None) -> Any:
    columns = [chart.x, chart.y, *([chart.color] if chart.color else [])]
    data = frame.select(columns).drop_nulls(chart.y)
    encoding: dict[str, Any] = {
        "x": alt.X(f"{chart.x}:T", title=None, axis=alt.Axis(format="%a %d", tickCount="day")),
        "y": alt.Y(f"{chart.y}:Q", title=chart.y_title, axis=alt.Axis(format=_axis_format(chart.y))),
    }
    if chart.color:
        encoding["color"] = alt.Color(f"{chart.color}:N", legend=_LEGEND)
    layers: list[Any] = []
    if bands is not None and not bands.is_empty():
        # whole hours, so a window of minutes stays visible on a week's axis
        hours = bands.select(
            pl.col("start").dt.truncate("1h"),
            (pl.col("end") - pl.duration(microseconds=1)).dt.truncate("1h").dt.offset_by("1h").alias("end"),
        )
        layers.append(
            alt.Chart(hours).mark_rect(color="#e74c3c", opacity=0.25).encode(x="start:T", x2="end:T")
        )
    layers.append(alt.Chart(data).mark_line(interpolate="step-after", strokeWidth=1.5).encode(**encoding))
    return alt.layer(*layers)


def _ranges(chart: Chart, frame: pl.DataFrame) -> Any:
    assert chart.low and chart.high and chart.box_low and chart.box_high
    data = frame.select(chart.x, chart.y, chart.low, chart.high, chart.box_low, chart.box_high).drop_nulls(
        chart.y
    )
    y = alt.Y(f"{chart.x}:N", title=None, sort=None, axis=_AXIS)
    base = alt.Chart(data)
    return alt.layer(
        base.mark_rule(color="#7f8c9a").encode(
            y=y,
            x=alt.X(f"{chart.low}:Q", title=chart.y_title, scale=alt.Scale(zero=False)),
            x2=f"{chart.high}:Q",
        ),
        base.mark_bar(size=12, color="#8fb3e8").encode(y=y, x=f"{chart.box_low}:Q", x2=f"{chart.box_high}:Q"),
        base.mark_tick(color="#1d3f8f", thickness=3, size=14).encode(y=y, x=f"{chart.y}:Q"),
    )


def vega_lite(chart: Chart, frame: pl.DataFrame, bands: pl.DataFrame | None = None) -> dict[str, Any]:
    """The chart as a self-contained Vega-Lite spec (data inlined, so it renders offline)."""
    if chart.kind == "stacked_bars":
        drawn: Any = _stacked_bars(chart, frame)
    elif chart.kind == "intervals":
        drawn = _intervals(chart, frame)
    elif chart.kind == "lines":
        drawn = _lines(chart, frame, bands)
    else:
        drawn = _ranges(chart, frame)
    rows = frame[chart.x].n_unique() if chart.kind in ("intervals", "ranges") else 0
    height = max(120, 28 * rows) if rows else 220
    spec: dict[str, Any] = drawn.properties(
        width=WIDTH, height=height, title=alt.Title(chart.title, anchor="start", fontSize=14)
    ).to_dict()
    return spec


def chart_spec(chart: Chart, report: Report) -> dict[str, Any]:
    """The Vega-Lite spec of one of `report`'s charts, with its bands table when it has one."""
    bands = report.table(chart.bands).frame if chart.bands else None
    return vega_lite(chart, report.table(chart.table).frame, bands)


def svg(chart: Chart, report: Report) -> str:
    """Inline SVG for the HTML report: rendered here (vl-convert), so the page needs no JavaScript."""
    import vl_convert

    return str(vl_convert.vegalite_to_svg(chart_spec(chart, report)))


def day_label(moment: datetime) -> str:
    """A moment as a chart title reads it: `Tue 01 Dec 10:30`."""
    return moment.strftime("%a %d %b %H:%M")
