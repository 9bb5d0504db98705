"""Shared by the report tests: a synthetic calls database and a tier policy that fits it."""

from __future__ import annotations

from pathlib import Path

from modelmeter.reports.synthetic import create_database

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
