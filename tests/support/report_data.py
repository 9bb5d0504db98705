"""Shared by the report tests: a synthetic calls database, a tier policy that fits it, the real CLI."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
from support.synthetic_calls import create_database

from modelmeter.reports.model import Headline

SYNTHETIC_ROWS = 60_000
SYNTHETIC_DAYS = 14

POLICY = """
[tiers.economy]
models = ["openai/gpt-4o-mini", "google/gemini-2.5-flash*", "mistral/*", "openai/text-embedding-3-small"]
max_output_per_1m = 3.0

[tiers.standard]
models = ["anthropic/claude-haiku-*", "mistral/*", "openai/gpt-4o-mini", "google/gemini-2.5-flash"]

[tiers.premium]
max_input_per_1m = 5.0

[workflows]
sales-email = "standard"
"""


def build_synthetic_db(directory: Path) -> Path:
    path = directory / "modelmeter.duckdb"
    create_database(str(path), SYNTHETIC_ROWS, days=SYNTHETIC_DAYS).close()
    return path


def write_policy(directory: Path) -> Path:
    path = directory / "tiers.toml"
    path.write_text(POLICY)
    return path


CLI = str(Path(sys.executable).parent / "modelmeter")


def run(*args: str | Path, env_home: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": str(Path(sys.executable).parent), "HOME": str(env_home or Path.home())}
    if env_home is not None:
        env["MODELMETER_HOME"] = str(env_home)
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=120, env=env)


def assert_reproduced_by_sql(
    con: duckdb.DuckDBPyConnection, headlines: list[Headline], window: dict[str, Any] | None = None
) -> None:
    """Every headline that carries SQL equals that SQL over `calls` (over the window, when given)."""
    where = " WHERE start_time >= $since AND start_time < $until" if window else ""
    for h in headlines:
        if not h.sql:
            continue
        query = f"SELECT {h.sql}, {h.based_on_sql} FROM calls{where}"
        value, based_on = con.sql(query, params=window).fetchall()[0]
        assert h.based_on == based_on, h.key
        assert (h.value is None) == (value is None), h.key
        if value is not None:
            assert math.isclose(float(h.value), float(value), rel_tol=1e-9), (h.key, h.value, value)
