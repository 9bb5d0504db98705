"""Test helpers for foreign span sources: capture real spans, ingest them, compare with the mock's truth.

A foreign source passes when, after the real ingest, `calls` holds exactly one row per call the mock
served (wrappers yield, HTTP spans are ignored) and that row says what the mock served: models,
canonical model, provider, route, streaming, every token kind (inclusive), finish reason, response id,
and a genai-prices cost equal to pricing the served usage directly. A fact the source does not report
must be NULL there, never 0 or a guess. No prompt text reaches the database.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from foreign.capture import SECRET_WORD  # in every captured prompt (also in tests/node's script)
from genai_prices import Usage, calc_price

from modelmeter.ingest.pipeline import ingest_paths
from modelmeter.mock import Knobs, MockProviders, ServedCall

HERE = Path(__file__).parent
NODE_PROJECT = HERE.parent / "node"
# The mock holds back the first output event this long, so a TTFT read in the wrong unit shows.
MOCK_TTFT_MS = 120.0
OUTPUT, FIRST_CHUNK = "output", "first-chunk"  # what a source's time to first token measures
TOKEN_COLUMNS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
)
# Canonical names are a domain rule (instrument/naming.py): dated and dashed ids meet gateway spellings.
CANONICAL = {
    "gpt-4o-mini": "openai/gpt-4o-mini",
    "o4-mini": "openai/o4-mini",
    "claude-sonnet-4-5": "anthropic/claude-sonnet-4.5",
}


@dataclass(frozen=True)
class Truth:
    """What the mock served for one call (from a live ServedCall or a fixture's truth file)."""

    request_model: str
    response_model: str
    provider: str
    streaming: bool
    finish_reason: str
    response_id: str
    usage: dict[str, int]

    @classmethod
    def of(cls, served: ServedCall) -> Truth:
        assert served.usage is not None and served.request_model and served.response_model
        return cls(
            request_model=served.request_model,
            response_model=served.response_model,
            provider=str(served.provider),
            streaming=served.streaming,
            finish_reason=str(served.finish_reason),
            response_id=str(served.response_id),
            usage={
                "input_tokens": served.usage.input_tokens,
                "output_tokens": served.usage.output_tokens,
                "cache_read_tokens": served.usage.cache_read_tokens,
                "cache_write_tokens": served.usage.cache_write_tokens,
                "reasoning_tokens": served.usage.reasoning_tokens,
            },
        )

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> Truth:
        return cls(**item)


def slow_first_token(mock: MockProviders) -> None:
    for vendor in mock.vendors:
        mock.configure(vendor, Knobs(ttft_ms=MOCK_TTFT_MS))


def capture(source: str, mock: MockProviders, out: Path) -> Path:
    """Run tests/foreign/capture.py SOURCE in its own process against the mock; `out` holds the OTLP."""
    slow_first_token(mock)
    subprocess.run(
        [
            sys.executable,
            "-W",
            "ignore::DeprecationWarning",
            str(HERE / "capture.py"),
            source,
            "--openai",
            mock.base_url("openai"),
            "--anthropic",
            mock.base_url("anthropic"),
            "--openrouter",
            mock.base_url("openrouter"),
            "--vercel",
            mock.origin("vercel"),
            "--out",
            str(out),
        ],
        check=True,
        timeout=60,
    )
    return out


def node_or_skip() -> str:
    """The node binary; outside CI a machine without Node.js (or without `npm install`) skips."""
    node = shutil.which("node")
    installed = (NODE_PROJECT / "node_modules" / "ai").is_dir()
    if node and installed:
        return node
    if os.environ.get("CI"):
        pytest.fail("Node.js and tests/node/node_modules are required in CI (scripts/test installs them)")
    pytest.skip("needs node and `npm install` in tests/node")


@contextmanager
def modelmeter_serve(spool: Path) -> Iterator[str]:
    """`modelmeter serve` on a free loopback port, spooling to `spool`; yields its /v1/traces URL.

    Stopped with SIGTERM on exit, which closes the spool file so `modelmeter ingest` reads it.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([str(_cli()), "serve", "--port", str(port), "--spool", str(spool)])
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "modelmeter serve did not start"
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/v1/traces"
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0


def _cli() -> Path:
    return Path(sys.executable).with_name("modelmeter")


def ingest(path: Path, db: Path, *, cli: bool = False) -> list[dict[str, Any]]:
    """The real ingest of an OTLP file or spool dir (the library, or `modelmeter ingest` with `cli`).

    Returns all `calls` rows, oldest first, and checks that no prompt text reached the database.
    """
    if cli:
        subprocess.run([str(_cli()), "ingest", str(path), "--db", str(db), "--quiet"], check=True, timeout=60)
    else:
        summary = ingest_paths([path], db)
        assert summary.exit_code == 0, summary
    con = duckdb.connect(str(db), read_only=True)
    try:
        cursor = con.execute("SELECT * FROM calls ORDER BY start_time")
        columns = [d[0] for d in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        everything = con.execute("SELECT string_agg(CAST(c AS VARCHAR), ' ') FROM calls c").fetchone()
    finally:
        con.close()
    assert SECRET_WORD not in str(everything)
    for row in rows:
        row["attributes"] = json.loads(row["attributes"]) if row["attributes"] else {}
    return rows


def assert_calls_match(
    rows: list[dict[str, Any]],
    served: list[Truth],
    *,
    source: str,
    lacks: Callable[[Truth], set[str]] = lambda _truth: set(),
    says: Callable[[Truth], dict[str, Any]] = lambda _truth: {},
    ttft: Callable[[Truth], str | None] = lambda _truth: OUTPUT,
) -> None:
    """One row per served call, equal to the truth.

    `lacks(truth)` names the columns the source does not report (they must be NULL); `says(truth)` gives
    the values a source reports in its own vocabulary where that differs from the wire's. `ttft(truth)`
    says what the source's time to first token of a stream measures: OUTPUT (the first output event,
    so at least the mock's hold-back), FIRST_CHUNK (the first stream event of any kind, which the mock
    does not hold back for every vendor) or None (not reported: NULL).
    """
    assert len(rows) == len(served), [r["name"] for r in rows]
    for truth in served:
        matching = [
            r for r in rows if r["request_model"] == truth.request_model and r["streaming"] == truth.streaming
        ]
        assert len(matching) == 1, (truth, [(r["request_model"], r["streaming"]) for r in rows])
        row, missing = matching[0], lacks(truth)
        expected: dict[str, Any] = {
            "source": source,
            "status": "ok",
            "route": "direct",
            "gateway": None,
            "request_model": truth.request_model,
            "response_model": truth.response_model,
            "model": CANONICAL[truth.request_model],
            "provider": truth.provider,
            "streaming": truth.streaming,
            "finish_reason": truth.finish_reason,
            "response_id": truth.response_id,
            "usage_known": True,
            **truth.usage,
        }
        for column in missing:
            expected[column] = None
        expected.update(says(truth))
        actual = {k: row[k] for k in expected}
        assert actual == expected, {k: (actual[k], v) for k, v in expected.items() if actual[k] != v}
        if "cost_usd" in row:
            assert (row["cost_usd"], row["cost_source"]) == (_genai_price(truth), "genai-prices")
        measures = ttft(truth) if truth.streaming else None
        if measures is None:
            assert row["ttft_ms"] is None
        else:
            floor = MOCK_TTFT_MS if measures == OUTPUT else 0.0
            assert row["ttft_ms"] is not None and floor <= row["ttft_ms"] <= row["duration_ms"], row[
                "ttft_ms"
            ]


def _genai_price(truth: Truth) -> Decimal:
    """What genai-prices says the served usage costs, asked directly (10 decimal places, as stored)."""
    usage = Usage(
        input_tokens=truth.usage["input_tokens"],
        cache_read_tokens=truth.usage["cache_read_tokens"],
        cache_write_tokens=truth.usage["cache_write_tokens"],
        output_tokens=truth.usage["output_tokens"],
    )
    price = calc_price(usage, model_ref=truth.response_model, provider_id=truth.provider).total_price
    return price.quantize(Decimal("1e-10"))
