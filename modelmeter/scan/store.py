"""A scan's units and findings into the database (`modelmeter scan --db`), for `report inventory`.

Each scan is kept under its own id; reports read the latest scan of each root. Findings that only
count (other secrets) are not stored, and no stored value is a secret.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import orjson
import polars as pl

from modelmeter.ingest.store import open_store
from modelmeter.scan import ScanResult
from modelmeter.scan.extract import OTHER_SECRET


def save(result: ScanResult, db: Path) -> str:
    """Store `result` in one transaction; returns the scan's id."""
    scan_id = uuid.uuid4().hex[:12]
    findings = [f for f in result.findings if f.kind != OTHER_SECRET]
    findings += result.history.findings if result.history else []
    finding_rows = pl.DataFrame(
        {
            "scan_id": [scan_id] * len(findings),
            "unit": [f.unit for f in findings],
            "category": [f.category for f in findings],
            "kind": [f.kind for f in findings],
            "value": [f.value for f in findings],
            "vendor": [f.vendor for f in findings],
            "route": [f.route for f in findings],
            "detail": [f.detail for f in findings],
            "path": [f.path for f in findings],
            "line": [f.line or None for f in findings],
            "git_commit": [f.commit for f in findings],
        },
        schema_overrides={"line": pl.Int32},
    )
    con = open_store(db)
    try:
        con.execute("BEGIN TRANSACTION")
        con.execute(
            "INSERT INTO scans (scan_id, root, complete, files_read, skipped) VALUES (?, ?, ?, ?, ?)",
            [
                scan_id,
                str(Path(result.root).resolve()),
                result.complete,
                result.files_read,
                orjson.dumps(result.skipped).decode(),
            ],
        )
        con.executemany(
            "INSERT INTO scan_units VALUES (?, ?, ?, ?, ?, ?)",
            [
                [scan_id, u.path, u.name, u.verdict, ", ".join(u.gateways), u.still_direct]
                for u in result.units
            ],
        )
        con.register("finding_rows", finding_rows)
        con.execute("INSERT INTO scan_findings SELECT * FROM finding_rows")
        con.execute("COMMIT")
    finally:
        con.close()
    return scan_id
