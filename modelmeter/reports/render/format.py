"""Human formatting of report values, shared by the terminal, HTML and Markdown renderers."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from modelmeter.reports.model import Headline, Report

MAX_ROWS = 40  # rows shown per table in human formats; CSV / JSON / Parquet carry them all


def headline_value(headline: Headline) -> str:
    value = headline.value
    if value is None:
        return "unknown"
    if headline.unit == "text" or isinstance(value, str):
        return str(value)
    number = float(value)
    if headline.unit == "usd":
        return f"${number:,.2f}" if abs(number) >= 1 else f"${number:,.4f}"
    if headline.unit == "ratio":
        return f"{number:+.1%}" if headline.key.endswith(("change", "_change")) else f"{number:.2%}"
    if headline.unit == "ms":
        return f"{number:,.0f} ms"
    if headline.unit == "tokens_per_s":
        return f"{number:,.1f} tok/s"
    return f"{number:,.0f}"


def cell(value: Any) -> str:
    """One table cell as text: money-like floats get 4 significant decimals, times are shown in UTC."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.4g}"
    if isinstance(value, datetime):
        return (
            value.strftime("%Y-%m-%d %H:%M")
            if (value.hour, value.minute) != (0, 0)
            else value.strftime("%Y-%m-%d")
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def period(report: Report) -> str:
    start, end = report.period
    fmt = "%Y-%m-%d %H:%M UTC"
    first = start.strftime(fmt) if start else "the first call"
    last = end.strftime(fmt) if end else "the last call"
    return f"{first} to {last}"


def filters(report: Report) -> str:
    parts = [f"{key}={','.join(values)}" for key, values in report.filters.items() if values]
    return "; ".join(parts) or "none"
