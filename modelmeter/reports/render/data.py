"""Machine output: the whole report as JSON, and its tables as CSV or Parquet files."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from modelmeter.reports.model import Report
from modelmeter.reports.render.charts import chart_spec


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def headlines_frame(report: Report) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "key": [h.key for h in report.headlines],
            "label": [h.label for h in report.headlines],
            "value": [None if h.value is None else str(h.value) for h in report.headlines],
            "unit": [h.unit for h in report.headlines],
            "based_on_calls": [h.based_on for h in report.headlines],
            "definition": [h.definition for h in report.headlines],
        }
    )


def render_json(report: Report) -> str:
    document = {
        "kind": report.kind,
        "title": report.title,
        "period": {"since": report.period[0], "until": report.period[1]},
        "filters": report.filters,
        "based_on_calls": report.based_on,
        "summary": report.summary,
        "findings": [{"text": f.text, "section": f.section, "level": f.level} for f in report.findings],
        "headlines": [
            {
                "key": h.key,
                "label": h.label,
                "value": h.value,
                "unit": h.unit,
                "based_on_calls": h.based_on,
                "definition": h.definition,
                "sql": h.sql,
                "based_on_sql": h.based_on_sql,
            }
            for h in report.headlines
        ],
        "tables": {
            t.name: {"title": t.title, "description": t.description, "rows": t.frame.to_dicts()}
            for t in report.tables
        },
        "charts": {c.name: chart_spec(c, report) for c in report.charts},
        "notes": report.notes,
    }
    return json.dumps(document, default=_json_default, indent=2)


def write_tables(report: Report, fmt: str, out: Path, table: str | None = None) -> list[Path]:
    """Write CSV or Parquet: one file when `table` is named (`headlines` for the headlines), else a directory
    `out` with headlines plus one file per table. Returns the files written."""
    frames = {"headlines": headlines_frame(report), **{t.name: t.frame for t in report.tables}}
    if table is not None:
        if table not in frames:
            raise ValueError(f"report {report.kind} has no table {table!r}: choose from {', '.join(frames)}")
        selected = {table: frames[table]}
        paths = {table: out}
    else:
        out.mkdir(parents=True, exist_ok=True)
        selected = frames
        paths = {name: out / f"{name}.{fmt}" for name in frames}
    for name, frame in selected.items():
        paths[name].parent.mkdir(parents=True, exist_ok=True)
        if fmt == "csv":
            frame.write_csv(paths[name], float_scientific=False)  # never 1e-05 in a spreadsheet
        else:
            frame.write_parquet(paths[name])
    return list(paths.values())
