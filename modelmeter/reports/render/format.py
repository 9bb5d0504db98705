"""Human formatting of report values, shared by the terminal, HTML and Markdown renderers.

Machine formats (JSON, CSV, Parquet) keep full precision and snake_case names; everything here is
for people: headers in words with their unit, money at a precision that shows its size and never in
scientific notation, shares as percentages, unknown values said as such (never a blank zero).
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from modelmeter.reports.model import Headline, Report, Section

MAX_ROWS = 40  # rows shown per table in HTML and Markdown; CSV / JSON / Parquet carry them all

Kind = Literal["usd", "signed_usd", "ratio", "change", "ms", "signed_ms", "count", "number", "text", "time"]

# Header words for column names whose generic reading would be unclear.
_LABELS = {
    "share": "Share",
    "group": "Workflow · model",
    "calls_a": "Calls A",
    "calls_b": "Calls B",
    "p50_a_ms": "p50 A (ms)",
    "p50_b_ms": "p50 B (ms)",
    "p50_diff_lo": "p50 diff low (ms)",
    "p50_diff_hi": "p50 diff high (ms)",
    "p95_diff_lo": "p95 diff low (ms)",
    "p95_diff_hi": "p95 diff high (ms)",
    "ttft_p50_diff_lo": "TTFT diff low (ms)",
    "ttft_p50_diff_hi": "TTFT diff high (ms)",
    "cost_change": "Cost per call change",
    "cost_change_lo": "Cost change low",
    "cost_change_hi": "Cost change high",
    "error_diff_lo": "Error rate diff low",
    "error_diff_hi": "Error rate diff high",
    "key_fingerprint": "Key",
    "auth_kind": "Key kind",
    "sdks": "SDKs",
    "tier_applied": "Tier",
    "change_ratio": "Change",
    "difference_ratio": "Difference",
    "errors_rate": "Error rate",
    "http_429_rate": "429 rate",
    "http_5xx_rate": "5xx rate",
    "http_429": "HTTP 429",
    "http_5xx": "HTTP 5xx",
    "timeouts_rate": "Timeout rate",
    "rank_by_volume": "Rank (volume)",
    "rank_by_cost": "Rank (cost)",
    "provider_names": "Provider names",
    "ok_calls": "Successful calls",
    "ok_calls_a": "Successful calls A",
    "ok_calls_b": "Successful calls B",
    "this_week_priced": "Priced calls, this week",
    "prior_week_priced": "Priced calls, prior week",
}
_WORDS = {"usd": "(USD)", "ms": "(ms)", "ttft": "TTFT", "1k": "1k", "io": "I/O", "wow": "week over week"}
_RATIO_NAMES = {"share", "direct_share", "error_rate", "streamed_share"}
_KINDS: dict[str, Kind] = {
    "p50_diff_ms": "signed_ms",
    "p95_diff_ms": "signed_ms",
    "ttft_p50_diff_ms": "signed_ms",
    "p50_diff_lo": "signed_ms",
    "p50_diff_hi": "signed_ms",
    "p95_diff_lo": "signed_ms",
    "p95_diff_hi": "signed_ms",
    "ttft_p50_diff_lo": "signed_ms",
    "ttft_p50_diff_hi": "signed_ms",
    "cost_change": "change",
    "cost_change_lo": "change",
    "cost_change_hi": "change",
    "error_diff_lo": "change",
    "error_diff_hi": "change",
    "change_usd": "signed_usd",
    "difference_usd": "signed_usd",
    "saving_usd": "signed_usd",
    "change_ratio": "change",
    "difference_ratio": "change",
}


def column_label(name: str) -> str:
    """A column name as a header in words: `cost_per_1k_tokens_usd` -> `Cost per 1k tokens (USD)`."""
    if name in _LABELS:
        return _LABELS[name]
    words = [_WORDS.get(word, word) for word in name.split("_") if word]
    if words and words[-1] in ("a", "b"):
        words[-1] = words[-1].upper()
    text = " ".join(words)
    return text if re.match(r"p\d", text) else text[:1].upper() + text[1:]


def column_kind(name: str) -> Kind:
    """How a column's values read, from its name (the report modules name columns by their unit)."""
    if name in _KINDS:
        return _KINDS[name]
    if name.endswith("_usd") or "_usd_" in name:
        return "usd"
    if name in _RATIO_NAMES or name.endswith(("_rate", "_share", "_rate_a", "_rate_b")):
        return "ratio"
    if name.endswith(("_ratio", "_change")):
        return "change"
    if name.endswith("_ms") or "_ms_" in name:
        return "ms"
    return "number"


def money(value: float | Decimal, signed: bool = False, symbol: str = "$") -> str:
    """USD at a precision that shows its size: cents from a dollar up, two significant digits below."""
    number = float(value)
    if number == 0 or not math.isfinite(number):
        return f"{symbol}0.00" if number == 0 else "unknown"
    size = abs(number)
    if size < 1:  # two significant digits, counted after rounding (0.000998 reads 0.0010)
        size = float(f"{size:.2g}")
    decimals = 2 if size >= 1 else min(10, max(2, 1 - math.floor(math.log10(size))))
    text = f"{size:,.{decimals}f}"
    sign = "-" if number < 0 else ("+" if signed else "")
    return f"{sign}{symbol}{text}"


def number(value: float, signed: bool = False) -> str:
    """A plain number without scientific notation: whole above 100, else up to three decimals."""
    size = abs(value)
    decimals = 0 if size >= 100 or size == int(size) else 1 if size >= 10 else 2 if size >= 1 else 3
    text = f"{value:+,.{decimals}f}" if signed else f"{value:,.{decimals}f}"
    return "0" if text in ("-0", "+0", "0") and not signed else text


def format_value(value: Any, kind: Kind, unknown: str = "–") -> str:
    """One value as people read it; `unknown` stands for a missing one (never an empty zero)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return unknown
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return (
            value.strftime("%Y-%m-%d %H:%M")
            if (value.hour, value.minute) != (0, 0)
            else value.strftime("%Y-%m-%d")
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return value
    if isinstance(value, int | float | Decimal):
        numeric = float(value)
        if kind in ("usd", "signed_usd"):
            return money(numeric, signed=kind == "signed_usd", symbol="")
        if kind == "ratio":
            return f"{numeric:.1%}"
        if kind == "change":
            return f"{numeric:+.1%}"
        if kind in ("ms", "signed_ms"):
            return f"{numeric:+,.0f}" if kind == "signed_ms" else f"{numeric:,.0f}"
        if isinstance(value, int):
            return f"{value:,}"
        return number(numeric)
    return str(value)


def cell(value: Any, column: str = "") -> str:
    """One table cell: its kind read from the column name; an unknown amount of spend is `unpriced`."""
    kind = column_kind(column)
    unknown = "unpriced" if kind == "usd" and column.startswith(("spend", "cost")) else "–"
    return format_value(value, kind, unknown)


def is_numeric(frame_dtype: Any) -> bool:
    """Right-align this column (numbers and amounts)."""
    return bool(getattr(frame_dtype, "is_numeric", lambda: False)())


def headline_value(headline: Headline) -> str:
    value = headline.value
    if value is None:
        return "unpriced" if headline.unit == "usd" else "unknown"
    if headline.unit == "text" or isinstance(value, str):
        return str(value)
    number_ = float(value)
    if headline.unit == "usd":
        return money(number_, signed=headline.key.endswith(("_minus_estimated_usd", "_diff_usd")))
    if headline.unit == "ratio":
        return f"{number_:+.1%}" if headline.key.endswith("change") else f"{number_:.1%}"
    if headline.unit == "ms":
        return f"{number_:+,.0f} ms" if headline.key.endswith("_diff_ms") else f"{number_:,.0f} ms"
    if headline.unit == "tokens_per_s":
        return f"{number_:,.1f} tok/s"
    return f"{number_:,.0f}"


def period(report: Report) -> str:
    start, end = report.period
    fmt = "%a %d %b %Y %H:%M"
    first = start.strftime(fmt) if start else "the first call"
    last = end.strftime(fmt) if end else "the last call"
    return f"{first} to {last} UTC"


def filters(report: Report) -> str:
    parts = [f"{key}={','.join(values)}" for key, values in report.filters.items() if values]
    return "; ".join(parts) or "none"


def sections(report: Report) -> list[Section]:
    """The report's sections; a report without any is one section holding everything, in order."""
    if report.sections:
        return report.sections
    return [
        Section(
            report.kind,
            "Headlines",
            tuple(h.key for h in report.headlines),
            tuple(t.name for t in report.tables),
            tuple(c.name for c in report.charts),
            lead=0,
        )
    ]
