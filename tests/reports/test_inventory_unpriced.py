"""Unpriced is not zero in the inventory: a workflow (and a key) whose calls have no price shows its
spend as unpriced in every table, and a workflow only partly priced says how many calls were not."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from support.synthetic_calls import create_database

from modelmeter.reports import ReportParams, build_report, open_db
from modelmeter.reports.render.terminal import render_text

UNPRICED = "meta/llama-3.3-70b-local"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("unpriced") / "modelmeter.duckdb"
    con = create_database(str(path), 4000, days=7)
    # one workflow calls the self-hosted model only, with its own key, straight to the server
    con.execute(
        "UPDATE calls SET workflow = 'local-only', route = 'direct', key_fingerprint = 'local-key' "
        "WHERE model = ?",
        [UNPRICED],
    )
    assert con.sql("SELECT count(*) FROM calls WHERE workflow = 'local-only'").fetchall()[0][0] > 0
    con.close()
    return path


def test_a_workflow_and_a_key_without_any_price_are_unpriced_not_zero(db: Path) -> None:
    con = open_db(db)
    try:
        report = build_report("inventory", con, ReportParams())
    finally:
        con.close()
    workflows = report.table("workflows").frame
    local = workflows.filter(pl.col("workflow") == "local-only").row(0, named=True)
    assert local["spend_usd"] is None
    assert local["unpriced_calls"] > 0
    keys = report.table("direct_keys").frame.filter(pl.col("key_fingerprint") == "local-key")
    assert keys["spend_usd"].to_list() == [None]
    rows = report.table("inventory").frame.filter(pl.col("model") == UNPRICED)
    assert rows["spend_usd"].null_count() == rows.height > 0
    # priced workflows keep their spend
    assert workflows.filter(pl.col("workflow") != "local-only")["spend_usd"].null_count() == 0
    text = render_text(report, width=120)
    line = next(line for line in text.splitlines() if line.lstrip().startswith("local-only"))
    assert "unpriced" in line
