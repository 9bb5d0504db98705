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


def frames(report: Report) -> dict[str, pl.DataFrame]:
    """Every table of the report by name, headlines first."""
    return {"headlines": headlines_frame(report), **{t.name: t.frame for t in report.tables}}


def main_table(report: Report) -> str:
    """The table a single CSV or Parquet file holds when no table is named: the report's first."""
    return report.tables[0].name if report.tables else "headlines"


def _frame(report: Report, table: str | None) -> tuple[str, pl.DataFrame]:
    tables = frames(report)
    name = table or main_table(report)
    if name not in tables:
        raise ValueError(f"report {report.kind} has no table {name!r} here: choose from {', '.join(tables)}")
    return name, tables[name]


def frame_csv(report: Report, table: str | None = None) -> str:
    """One table (`table`, else the main one) as CSV text, for stdout."""
    return _frame(report, table)[1].write_csv(float_scientific=False)


def write_tables(report: Report, fmt: str, out: Path, table: str | None = None) -> list[Path]:
    """Write CSV or Parquet and return the files written.

    `out` ending in `.csv` / `.parquet` is one file: `table`, else the main table. Any other `out` is a
    directory (made when missing, inside an existing parent): one file per table plus headlines, or
    only `table`. Nothing else is written."""
    if out.suffix.lower() in (".csv", ".parquet"):
        selected = {out: _frame(report, table)[1]}
    else:
        tables = frames(report)
        names = [_frame(report, table)[0]] if table is not None else list(tables)
        selected = {out / f"{name}.{fmt}": tables[name] for name in names}
        out.mkdir(exist_ok=True)
    for path, frame in selected.items():
        if fmt == "csv":
            frame.write_csv(path, float_scientific=False)  # never 1e-05 in a spreadsheet
        else:
            frame.write_parquet(path)
    return list(selected)
