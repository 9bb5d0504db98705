"""Formatting for people: amounts in words people read, unknown spend said as unpriced, headers in words."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from modelmeter.reports import cost
from modelmeter.reports.model import Headline
from modelmeter.reports.render.format import cell, column_label, headline_value, money


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (3.3045790999999998, "$3.30"),
        (1234.5, "$1,234.50"),
        (0.0035, "$0.0035"),
        (9.385e-05, "$0.000094"),
        (-0.25, "-$0.25"),
        (0.000998, "$0.0010"),
        (0.0, "$0.00"),
    ],
)
def test_money_is_never_in_scientific_notation(amount: float, shown: str) -> None:
    assert money(amount) == shown


def test_unknown_spend_is_shown_as_unpriced_never_as_zero() -> None:
    assert cell(None, "spend_usd") == "unpriced"
    assert cell(None, "cost_per_call_usd") == "unpriced"
    assert cell(None, "p50_ms") == "–"
    assert headline_value(Headline("spend_usd", "Spend", None, "usd", "", 0)) == "unpriced"
    daily = pl.DataFrame(
        {
            "day": [datetime(2026, 12, 1, tzinfo=UTC)] * 2,
            "provider": ["openai", "acme"],
            "calls": [10, 5],
            "priced_calls": [10, 0],
            "spend_usd": [1.5, 0.0],
            "priced_tokens": [1000, 0],
        }
    )
    rows = {row["provider"]: row for row in cost.spend_by(daily, ["provider"]).iter_rows(named=True)}
    assert rows["openai"]["spend_usd"] == 1.5 and rows["acme"]["spend_usd"] is None


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("cost_per_1k_tokens_usd", "Cost per 1k tokens (USD)"),
        ("spend_usd", "Spend (USD)"),
        ("share", "Share"),
        ("p50_diff_lo", "p50 diff low (ms)"),
        ("calls_a", "Calls A"),
        ("ttft_p50_ms", "TTFT p50 (ms)"),
        ("p10_ms", "p10 (ms)"),
        ("ok_calls", "Successful calls"),
    ],
)
def test_headers_are_words_with_their_unit(name: str, label: str) -> None:
    assert column_label(name) == label


def test_shares_and_changes_read_as_percentages() -> None:
    assert cell(0.436, "share") == "43.6%"
    assert cell(-0.004, "cost_change") == "-0.4%"
    assert cell(12.3, "p50_diff_ms") == "+12"
    assert cell(2226805, "priced_tokens") == "2,226,805"
