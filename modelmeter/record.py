"""The span record: one flat JSON object per span, the unit the spool holds and ingest reads.

Why flat: DuckDB reads flat NDJSON several times faster than it can flatten nested OTLP JSON, and
ingest must move hundreds of thousands of spans per second. A record's keys are the columns of the
`calls` table (plus a few span facts); everything else about the span rides along, lossless, in
`attributes`. Our own spans become records in the exporter; foreign spans (OTLP from other
instrumentations) become records in `ingest/normalise`, so everything after that is one path.

Conventions that every producer of records keeps:
- ids are lowercase hex; `start_ns` / `end_ns` are Unix epoch nanoseconds (ints);
- tokens are inclusive (input includes cache reads and writes, output includes reasoning);
  unknown is null, never 0, and then `usage_known` is false;
- `cost_usd` null means unpriced; money is a decimal *string* in records (no float rounding) and
  DECIMAL(18, 10) in DuckDB;
- a key may be left out, which means null: the spool writes only the keys that have a value, and
  leaves out the GenAI-convention copies of values a column already holds
  (`semconv.REPEATS_OF_COLUMNS`). Reading a record costs in proportion to its bytes (ingest's
  parse is its largest cost), so a line carries each fact once.

Who produces each column is said beside it, one hop away, as `ours | foreign`:
- ours: the module under `instrument/` that sets the span attribute (`semconv.COLUMN_OF` names its
  column; `instrument/spool.py` writes the record, and `attributes` is what no column holds);
- foreign: under `ingest/normalise/`, `_common` for what every source shares (its `new_record`,
  `set_route` and `set_usage`), `mapping` for each source's own module.
`cost_usd` and `cost_source` are the exception: ingest prices every record again (`ingest/load.py`
with the pricing core, `modelmeter/pricing.py`) and does not read the ones a record carries.
"""

from __future__ import annotations

# name -> DuckDB type, in table order. `calls` has these columns (DESIGN.md), plus ingest-time ones
# (start_time, ingested_at, attempts) that ingest derives.
RECORD_COLUMNS: dict[str, str] = {
    "trace_id": "VARCHAR",  # spool.py | _common
    "span_id": "VARCHAR",  # spool.py | _common
    "parent_span_id": "VARCHAR",  # spool.py | _common
    "name": "VARCHAR",  # spool.py | _common
    "start_ns": "BIGINT",  # spool.py | _common
    "end_ns": "BIGINT",  # spool.py | _common
    "duration_ms": "DOUBLE",  # describe.py | _common
    "ttft_ms": "DOUBLE",  # describe.py | mapping
    "source": "VARCHAR",  # spool.py (modelmeter) | mapping (anthropic-sdk, openllmetry, openlit, ...)
    "service": "VARCHAR",  # spool.py (the resource) | _common
    "environment": "VARCHAR",  # spool.py (the resource) | _common
    "workflow": "VARCHAR",  # tags.py | _common
    "team": "VARCHAR",  # tags.py | _common
    "tier": "VARCHAR",  # tags.py | _common
    "run": "VARCHAR",  # tags.py | _common
    "route": "VARCHAR",  # describe.py (routes.py) | _common
    "gateway": "VARCHAR",  # describe.py (routes.py) | _common
    "provider": "VARCHAR",  # describe.py (naming.py) | _common
    "platform": "VARCHAR",  # describe.py (vendors.py) | _common
    "operation": "VARCHAR",  # shim.py (the wire family) | _common, mapping
    "request_model": "VARCHAR",  # request.py | _common
    "response_model": "VARCHAR",  # describe.py (providers/) | _common
    "model": "VARCHAR",  # describe.py (naming.py) | _common
    "response_id": "VARCHAR",  # describe.py (providers/) | _common
    "streaming": "BOOLEAN",  # request.py | mapping
    "status": "VARCHAR",  # describe.py | _common
    "http_status": "INTEGER",  # describe.py | _common
    "error_type": "VARCHAR",  # describe.py | _common
    "finish_reason": "VARCHAR",  # describe.py (providers/) | _common
    "truncated": "BOOLEAN",  # describe.py | mapping
    "usage_known": "BOOLEAN",  # describe.py (providers/) | _common
    "input_tokens": "BIGINT",  # describe.py (providers/) | _common
    "output_tokens": "BIGINT",  # describe.py (providers/) | _common
    "cache_read_tokens": "BIGINT",  # describe.py (providers/) | _common
    "cache_write_tokens": "BIGINT",  # describe.py (providers/) | _common
    "reasoning_tokens": "BIGINT",  # describe.py (providers/) | _common
    "service_tier": "VARCHAR",  # describe.py (providers/) | mapping
    "cost_usd": "DECIMAL(18,10)",  # ingest/load.py (modelmeter/pricing.py)
    "cost_source": "VARCHAR",  # ingest/load.py (modelmeter/pricing.py)
    "reported_cost_usd": "DECIMAL(18,10)",  # describe.py (providers/) | mapping
    "reported_cost_source": "VARCHAR",  # describe.py (providers/) | mapping
    "key_fingerprint": "VARCHAR",  # request.py (keys.py) | -
    "auth_kind": "VARCHAR",  # request.py (keys.py) | -
    "sdk": "VARCHAR",  # request.py (sdk.py) | mapping
    "sdk_version": "VARCHAR",  # request.py (sdk.py) | -
    "server_address": "VARCHAR",  # shim.py | _common
    "request_id": "VARCHAR",  # describe.py | mapping
    "call_id": "VARCHAR",  # request.py (correlation.py) | -
    "attempt": "INTEGER",  # request.py (correlation.py) | -
    "fallback_from": "VARCHAR",  # request.py (correlation.py) | -
    "attributes": "JSON",  # spool.py | _common
}

RECORD_FIELDS: tuple[str, ...] = tuple(RECORD_COLUMNS)
