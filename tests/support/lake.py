"""Helpers for the lake tests: spool files made from the synthetic calls, the real CLI, report data."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
from support.synthetic_calls import create_database

from modelmeter.record import RECORD_COLUMNS
from modelmeter.reports import ReportParams, build_report, open_db
from modelmeter.reports.render import render
from modelmeter.reports.source import open_lake

REPORT_KINDS = ("inventory", "cost", "latency", "failover", "compare", "tiers", "weekly")
POLICY = """
[tiers.economy]
models = ["openai/gpt-4o-mini", "google/gemini-2.5-flash*", "mistral/*"]
[workflows]
sales-email = "economy"
"""


def synthetic_spool(directory: Path, rows: int, *, days: int = 10, files: int = 4) -> Path:
    """A spool directory of closed record files holding `rows` synthetic calls (as the shim writes them)."""
    spool = directory / "spool"
    spool.mkdir(parents=True)
    con = create_database(str(directory / "synthetic.duckdb"), rows, days=days)
    columns = [c for c in RECORD_COLUMNS if c not in ("start_ns", "end_ns")]
    present = {r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE calls)").fetchall()}
    projection = ", ".join(f'"{c}"' if c in present else f'NULL AS "{c}"' for c in columns)
    for part in range(files):
        con.execute(
            f"COPY (SELECT {projection}, epoch_ns(start_time) AS start_ns, epoch_ns(end_time) AS end_ns "
            f"FROM calls WHERE hash(span_id) % {files} = {part}) "
            f"TO '{spool / f'spans-{part}.ndjson'}' (FORMAT json)"
        )
    con.close()
    (directory / "synthetic.duckdb").unlink()
    return spool


def run_cli(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real `modelmeter` command in a subprocess."""
    return subprocess.run(
        [str(Path(sys.executable).with_name("modelmeter")), *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def report_data(con: duckdb.DuckDBPyConnection, kind: str, policy: Path, **params: Any) -> Any:
    """A report as data (its JSON rendering parsed), not as presented."""
    return json.loads(render(build_report(kind, con, ReportParams(policy=policy, **params)), "json"))


def differences(a: Any, b: Any, path: str = "") -> Iterator[str]:
    """Where two report data differ; floats are equal within 1e-9 relative (sums in another order)."""
    if isinstance(a, float) and isinstance(b, float):
        if not (math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) or (math.isnan(a) and math.isnan(b))):
            yield f"{path}: {a!r} != {b!r}"
    elif isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            yield f"{path}: keys {sorted(a)} != {sorted(b)}"
        for key in a.keys() & b.keys():
            yield from differences(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            yield f"{path}: {len(a)} items != {len(b)}"
        for index, (x, y) in enumerate(zip(a, b, strict=False)):
            yield from differences(x, y, f"{path}[{index}]")
    elif a != b:
        yield f"{path}: {a!r} != {b!r}"


def normalised(data: Any) -> Any:
    """Report data with what depends on row order among equal keys or on float noise made comparable:
    table rows as a sorted list, chart datasets by content (their names are hashes of the floats)."""
    if isinstance(data, dict):
        if "datasets" in data:
            data = {**data, "datasets": [_rows(rows) for rows in data["datasets"].values()]}
            data["data"] = {k: v for k, v in data.get("data", {}).items() if k != "name"}
        if isinstance(data.get("rows"), list):
            data = {**data, "rows": _rows(data["rows"])}
        return {k: normalised(v) for k, v in data.items()}
    if isinstance(data, list):
        return [normalised(v) for v in data]
    return data


def _rows(rows: list[Any]) -> list[Any]:
    """Rows sorted by their values other than floats (which may differ in the last digits)."""
    return sorted(
        rows, key=lambda row: repr(sorted((k, v) for k, v in row.items() if not isinstance(v, float)))
    )


def assert_reports_equal(
    lake: Path | str, db: Path, policy: Path, kinds: tuple[str, ...] = REPORT_KINDS, **params: Any
) -> None:
    for kind in kinds:
        ours = normalised(report_data(open_lake(str(lake)), kind, policy, **params))
        reference = normalised(report_data(open_db(db), kind, policy, **params))
        found = list(differences(ours, reference))
        assert found == [], f"{kind}: {len(found)} differences, first: {found[:5]}"
