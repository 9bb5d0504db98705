"""Helpers for the ingest, pricing and serve tests: span records as the shim writes them, the real CLI."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb
import orjson

from modelmeter.record import RECORD_FIELDS

JAN_1_2026_NS = 1_767_225_600 * 10**9
_ids = itertools.count(1)


def new_id(size: int) -> str:
    """Distinct, valid, readable ids (never all zero)."""
    return f"{next(_ids):0{size * 2}x}"


def record(**values: Any) -> dict[str, Any]:
    """One span record of ours, as the spool holds it: a successful OpenAI chat call unless told otherwise."""
    start = values.pop("start_ns", JAN_1_2026_NS)
    row: dict[str, Any] = dict.fromkeys(RECORD_FIELDS)
    row.update(
        trace_id=new_id(16),
        span_id=new_id(8),
        name="chat gpt-4o",
        start_ns=start,
        end_ns=start + 800_000_000,
        duration_ms=800.0,
        source="modelmeter",
        service="checkout-api",
        workflow="support-bot",
        route="direct",
        provider="openai",
        platform="openai",
        operation="chat",
        request_model="gpt-4o",
        response_model="gpt-4o-2024-08-06",
        model="openai/gpt-4o",
        streaming=False,
        status="ok",
        http_status=200,
        usage_known=True,
        input_tokens=1200,
        output_tokens=300,
        cache_read_tokens=0,
        cache_write_tokens=0,
        call_id=new_id(8),
        attempt=0,
        cost_usd="0.123",  # the shim's own figure: ingest recomputes it
        cost_source="genai-prices",
        attributes={"modelmeter.wire_family": "openai.chat"},
    )
    row.update(values)
    return row


def write_ndjson(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


def cli() -> str:
    """The installed `modelmeter` console script next to this interpreter."""
    return str(Path(sys.executable).with_name("modelmeter"))


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [cli(), *args], capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )


def rows(db: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()
