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
"""

from __future__ import annotations

# name -> DuckDB type, in table order. `calls` has these columns (DESIGN.md), plus ingest-time ones
# (start_time, ingested_at, attempts) that ingest derives.
RECORD_COLUMNS: dict[str, str] = {
    "trace_id": "VARCHAR",
    "span_id": "VARCHAR",
    "parent_span_id": "VARCHAR",
    "name": "VARCHAR",
    "start_ns": "BIGINT",
    "end_ns": "BIGINT",
    "duration_ms": "DOUBLE",
    "ttft_ms": "DOUBLE",
    "source": "VARCHAR",  # modelmeter | anthropic-sdk | openllmetry | openlit | logfire | vercel-ai-sdk | ...
    "service": "VARCHAR",
    "environment": "VARCHAR",
    "workflow": "VARCHAR",
    "team": "VARCHAR",
    "tier": "VARCHAR",
    "run": "VARCHAR",
    "route": "VARCHAR",
    "gateway": "VARCHAR",
    "provider": "VARCHAR",
    "platform": "VARCHAR",
    "operation": "VARCHAR",
    "request_model": "VARCHAR",
    "response_model": "VARCHAR",
    "model": "VARCHAR",
    "response_id": "VARCHAR",
    "streaming": "BOOLEAN",
    "status": "VARCHAR",
    "http_status": "INTEGER",
    "error_type": "VARCHAR",
    "finish_reason": "VARCHAR",
    "truncated": "BOOLEAN",
    "usage_known": "BOOLEAN",
    "input_tokens": "BIGINT",
    "output_tokens": "BIGINT",
    "cache_read_tokens": "BIGINT",
    "cache_write_tokens": "BIGINT",
    "reasoning_tokens": "BIGINT",
    "service_tier": "VARCHAR",
    "cost_usd": "DECIMAL(18,10)",
    "cost_source": "VARCHAR",
    "reported_cost_usd": "DECIMAL(18,10)",
    "reported_cost_source": "VARCHAR",
    "key_fingerprint": "VARCHAR",
    "auth_kind": "VARCHAR",
    "sdk": "VARCHAR",
    "sdk_version": "VARCHAR",
    "server_address": "VARCHAR",
    "request_id": "VARCHAR",
    "call_id": "VARCHAR",
    "attempt": "INTEGER",
    "fallback_from": "VARCHAR",
    "attributes": "JSON",
}

RECORD_FIELDS: tuple[str, ...] = tuple(RECORD_COLUMNS)
