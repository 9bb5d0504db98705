"""List prices the mock gateways use to report what a call cost (deterministic, not authoritative)."""

from __future__ import annotations

from decimal import Decimal

from modelmeter.mock.calls import MockUsage

# (name fragment, USD per million input tokens, per million output tokens); first match wins
_LIST_PRICES: tuple[tuple[str, str, str], ...] = (
    ("gpt-4o-mini", "0.15", "0.60"),
    ("gpt-4o", "2.50", "10.00"),
    ("gpt-4.1-nano", "0.10", "0.40"),
    ("gpt-4.1-mini", "0.40", "1.60"),
    ("gpt-4.1", "2.00", "8.00"),
    ("gpt-5-nano", "0.05", "0.40"),
    ("gpt-5-mini", "0.25", "2.00"),
    ("gpt-5", "1.25", "10.00"),
    ("o4-mini", "1.10", "4.40"),
    ("o3", "2.00", "8.00"),
    ("text-embedding-3-small", "0.02", "0"),
    ("text-embedding-3-large", "0.13", "0"),
    ("claude-haiku", "1.00", "5.00"),
    ("claude-3-5-haiku", "0.80", "4.00"),
    ("claude-sonnet", "3.00", "15.00"),
    ("claude-opus", "5.00", "25.00"),
    ("gemini-2.5-flash-lite", "0.10", "0.40"),
    ("gemini-2.5-flash", "0.30", "2.50"),
    ("gemini-2.5-pro", "1.25", "10.00"),
    ("llama", "0.59", "0.79"),
    ("mistral-small", "0.10", "0.30"),
    ("mistral-large", "2.00", "6.00"),
)
_DEFAULT = ("1.00", "3.00")
_MILLION = Decimal(1_000_000)


def list_cost(model: str, usage: MockUsage) -> Decimal:
    """Cost at list price: cache reads at a tenth of the input price, cache writes at 1.25 times."""
    name = model.lower()
    per_in, per_out = next(((i, o) for frag, i, o in _LIST_PRICES if frag in name), _DEFAULT)
    price_in, price_out = Decimal(per_in), Decimal(per_out)
    plain_input = usage.input_tokens - usage.cache_read_tokens - usage.cache_write_tokens
    total = (
        plain_input * price_in
        + usage.cache_read_tokens * price_in / 10
        + usage.cache_write_tokens * price_in * Decimal("1.25")
        + usage.output_tokens * price_out
    )
    return (total / _MILLION).quantize(Decimal("0.000000001")).normalize()
