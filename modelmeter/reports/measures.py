"""Named measures: a definition in words, the SQL aggregate it equals, and the calls it rests on.

Headlines are built from measures, so a printed number always carries the sentence that defines it,
the SQL that reproduces it over the calls in scope (`SELECT <sql> FROM calls WHERE <filters>`) and
the count of calls behind it. Reports evaluate the measures from their grouped aggregates, so one
scan of `calls` serves both the headlines and the tables; the tests hold each value to its SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelmeter.reports.model import Headline, Unit

OK = "status = 'ok'"
ERROR = "status = 'error'"
PRICED = "cost_usd IS NOT NULL"
TIMEOUT = "coalesce(error_type ILIKE '%timeout%', false)"


@dataclass(frozen=True, slots=True)
class Measure:
    key: str
    label: str
    sql: str  # an aggregate expression over `calls`
    unit: Unit
    definition: str
    based_on: str = "count(*)"  # an aggregate expression: how many calls the number rests on


def rate(key: str, label: str, condition: str, definition: str) -> Measure:
    """Share of calls in scope for which `condition` holds (NULL counts as false)."""
    return Measure(key, label, f"avg(coalesce({condition}, false)::INTEGER)", "ratio", definition)


def quantile(key: str, label: str, column: str, q: float, where: str, definition: str) -> Measure:
    return Measure(
        key,
        label,
        f"quantile_cont({column}, {q}) FILTER (WHERE {where})",
        "ms",
        definition,
        f"count({column}) FILTER (WHERE {where})",
    )


CALLS = Measure("calls", "Calls", "count(*)", "calls", "Logical calls in scope (a retried call counts once).")
SPEND = Measure(
    "spend_usd",
    "Estimated spend",
    f"sum(cost_usd) FILTER (WHERE {PRICED})::DOUBLE",
    "usd",
    "Sum of cost_usd (genai-prices estimate) over priced calls; unpriced calls are excluded, not zero.",
    f"count(*) FILTER (WHERE {PRICED})",
)
UNPRICED_CALLS = Measure(
    "unpriced_calls",
    "Unpriced calls",
    "count(*) FILTER (WHERE usage_known AND cost_usd IS NULL)",
    "calls",
    "Calls with known usage but no price (model unknown to the price table).",
)
NO_USAGE_CALLS = Measure(
    "calls_without_usage",
    "Successful calls without usage",
    f"count(*) FILTER (WHERE {OK} AND NOT coalesce(usage_known, false))",
    "calls",
    "Calls with status ok whose provider sent no token usage (e.g. a stream without include_usage).",
)
TRUNCATED_CALLS = Measure(
    "truncated_streams",
    "Truncated streams",
    "count(*) FILTER (WHERE coalesce(truncated, false))",
    "calls",
    "Calls whose stream ended before its terminal event (abandoned or cut).",
)
ERROR_RATE = rate("error_rate", "Error rate", ERROR, "Calls with status error / all calls in scope.")


def headline(measure: Measure, value: float | int | str | None, based_on: int) -> Headline:
    """The headline of `measure`, with its value and call count computed by the report."""
    return Headline(
        measure.key,
        measure.label,
        value,
        measure.unit,
        measure.definition,
        int(based_on),
        measure.sql,
        measure.based_on,
    )
