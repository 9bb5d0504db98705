"""From staged span records to `calls` and `attempts`: set-based SQL, one transaction per batch.

Records of a batch are staged (read_json of flat NDJSON into `stg`), then SQL drops spans already
stored, folds the tries of one logical call (same `call_id`, possibly across batches) into one
calls row, prices every row with one join against a small price table, and applies the layer rules.
Nothing here loops over rows in Python: that is what makes hundreds of thousands of spans a second.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from modelmeter import pricing, semconv
from modelmeter.ingest.normalise import layers
from modelmeter.ingest.pricing import NS_PER_DAY, PRICE_TABLE_COLUMNS, price_rows
from modelmeter.ingest.schema import LAYER_COLUMN, span_columns
from modelmeter.record import RECORD_COLUMNS

# A spool line with `kind` is not a span: `{"kind": "dropped", ...}` counts spans the shim could
# not spool (instrument/spool.py); it is staged with the spans and moved to the `dropped` table.
DROPPED_KIND = "dropped"
DROPPED_COLUMNS: dict[str, str] = {
    "kind": "VARCHAR",
    "reason": "VARCHAR",
    "count": "BIGINT",
    "host": "VARCHAR",
    "pid": "BIGINT",
    "from_ns": "BIGINT",
    "to_ns": "BIGINT",
}
STAGING_COLUMNS: dict[str, str] = {**RECORD_COLUMNS, LAYER_COLUMN: "VARCHAR", **DROPPED_COLUMNS}
# What read_json parses. Parsing dominates ingest, so: the estimate is always recomputed here (the
# record's own is not read), and JSON and money are read as text and cast once stored (cheaper).
_NOT_READ = ("cost_usd", "cost_source")
_READ_AS_TEXT = ("attributes", "reported_cost_usd")
_READ_COLUMNS = (
    "{"
    + ", ".join(
        f"'{name}': '{'VARCHAR' if name in _READ_AS_TEXT else sql_type}'"
        for name, sql_type in STAGING_COLUMNS.items()
        if name not in _NOT_READ
    )
    + "}"
)
_READ_NAMES = [name for name in STAGING_COLUMNS if name not in _NOT_READ]
SPAN_COLUMNS: list[str] = [name for name, _ in span_columns()]
_PRICED = ("cost_usd", "cost_source", "price_period")
_IDENTITY = ("trace_id", "span_id", "parent_span_id", "start_time")
_DAY_US = 86_400 * 10**6


def _q(name: str) -> str:
    return f'"{name}"'


def _cols(names: list[str] | tuple[str, ...], prefix: str = "") -> str:
    return ", ".join(f"{prefix}{_q(n)}" for n in names)


def _batch_flag(alias: str) -> str:
    """The batch-job flag rides in `attributes`; only rows that mention it pay for a JSON lookup."""
    attrs = f"{alias}.attributes"
    path = f'$."{semconv.MM_BATCH}"'
    return (
        f"CASE WHEN contains(CAST({attrs} AS VARCHAR), '{semconv.MM_BATCH}') "
        f"THEN coalesce(TRY_CAST(json_extract_string({attrs}, '{path}') AS BOOLEAN), false) ELSE false END"
    )


def _fees(alias: str) -> str:
    """The per-request fees (web search, ...) the shim priced into a call's cost, kept in `attributes`
    because tokens alone do not carry them; 0 for the rows that have none (no JSON lookup)."""
    attrs = f"{alias}.attributes"
    path = f'$."{semconv.MM_COST_FEES_USD}"'
    return (
        f"CASE WHEN contains(CAST({attrs} AS VARCHAR), '{semconv.MM_COST_FEES_USD}') "
        f"THEN coalesce(TRY_CAST(json_extract_string({attrs}, '{path}') AS DECIMAL(18,10)), 0) ELSE 0 END"
    )


def _gateway_routing(alias: str, expr: str) -> str:
    """`expr` over a gateway's routing attempts (a JSON list the shim stores), only for rows that have one."""
    attrs = f"{alias}.attributes"
    routing = f"json_extract_string({attrs}, '$.\"{semconv.MM_GATEWAY_ATTEMPTS}\"')"
    mentioned = f"contains(CAST({attrs} AS VARCHAR), '{semconv.MM_GATEWAY_ATTEMPTS}')"
    return f"CASE WHEN {mentioned} THEN {expr.format(routing=routing)} END"


def _key_exprs(alias: str) -> list[str]:
    exprs = [f"coalesce({alias}.{_q(name)}, '')" for name in pricing.PRICE_KEY_COLUMNS if name != "batch"]
    return [*exprs, _batch_flag(alias)]


@dataclass
class BatchCounts:
    spans: int = 0  # GenAI span records staged
    duplicates: int = 0  # already stored, or twice in the batch
    calls_added: int = 0  # net new rows in `calls`
    per_file_new: dict[str, int] = field(default_factory=dict)
    dropped: int = 0  # spans the shim reported it could not spool (new count lines' total)


class Loader:
    """Stages records and commits them; keeps the price table of a run in a temp table."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        overrides: list[pricing.PriceOverride],
        memory_limit: str = "1GB",
    ):
        self.con = con
        self.overrides = overrides
        self._priced_keys: set[pricing.PriceKey] = set()
        # memory follows the batch, not the input: DuckDB would otherwise keep every page it wrote
        # cached (up to 80% of RAM); staged rows spill to disk past the limit; inserts need no order
        con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute("SET preserve_insertion_order = false")
        self._new_staging_table()
        prices = ", ".join(f"{_q(n)} {t}" for n, t in PRICE_TABLE_COLUMNS.items())
        con.execute(f"CREATE OR REPLACE TEMP TABLE prices ({prices})")

    # --- staging ---------------------------------------------------------------------------
    def _new_staging_table(self) -> None:
        """An empty `stg` (re-created per batch: a DELETE would keep its memory)."""
        staging = ", ".join(
            f"{_q(n)} {'VARCHAR' if n in _READ_AS_TEXT else t}" for n, t in STAGING_COLUMNS.items()
        )
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE stg ({staging}, src_file VARCHAR)")

    def stage_ndjson(self, ndjson: Path, origin: str) -> int:
        """Stage a flat NDJSON file of records; raises duckdb.Error if DuckDB rejects any line."""
        before = self._staged()
        self.con.execute(
            f"INSERT INTO stg ({_cols(_READ_NAMES)}, src_file) SELECT *, ? "
            f"FROM read_json(?, format='newline_delimited', columns={_READ_COLUMNS})",
            [origin, str(ndjson)],
        )
        return self._staged() - before

    def stage_record_files(self, paths: list[Path]) -> None:
        """Stage many record files with one read_json (DuckDB reads them in parallel); all or nothing."""
        self.con.execute(
            f"INSERT INTO stg ({_cols(_READ_NAMES)}, src_file) SELECT * "
            f"FROM read_json(?, format='newline_delimited', columns={_READ_COLUMNS}, filename=true)",
            [[str(p) for p in paths]],
        )

    def files_with_invalid_rows(self) -> set[str]:
        """Files with rows missing an id or start time, or with a bad count line: those go through
        the careful Python path."""
        found = self.con.execute(
            "SELECT DISTINCT src_file FROM stg WHERE CASE WHEN kind IS NULL THEN "
            "trace_id IS NULL OR span_id IS NULL "
            "OR start_ns IS NULL OR length(trace_id) <> 32 OR length(span_id) <> 16 "
            "OR (attributes IS NOT NULL AND NOT (starts_with(attributes, '{') AND json_valid(attributes))) "
            "OR (reported_cost_usd IS NOT NULL AND TRY_CAST(reported_cost_usd AS DECIMAL(18,10)) IS NULL) "
            f"ELSE kind <> '{DROPPED_KIND}' OR reason IS NULL OR count IS NULL OR count < 0 "
            "OR from_ns IS NULL OR to_ns IS NULL END"
        ).fetchall()
        return {row[0] for row in found}

    def staged_per_file(self) -> dict[str, int]:
        """Spans staged per file (count lines left out)."""
        return dict(
            self.con.execute("SELECT src_file, count(*) FROM stg WHERE kind IS NULL GROUP BY ALL").fetchall()
        )

    def unstage(self, origin: str) -> None:
        self.con.execute("DELETE FROM stg WHERE src_file = ?", [origin])

    def _staged(self) -> int:
        row = self.con.execute("SELECT count(*) FROM stg WHERE kind IS NULL").fetchone()
        return int(row[0]) if row else 0

    # --- pricing ---------------------------------------------------------------------------
    def _ensure_prices(self, relation: str, alias: str = "r") -> None:
        keys = self.con.execute(
            f"SELECT DISTINCT {', '.join(_key_exprs(alias))} FROM {relation} {alias}"
        ).fetchall()
        missing = [k for k in (pricing.PriceKey(*row) for row in keys) if k not in self._priced_keys]
        if not missing:
            return
        rows = price_rows(missing, self.overrides)
        if rows:
            marks = ", ".join("?" * len(PRICE_TABLE_COLUMNS))
            self.con.executemany(f"INSERT INTO prices VALUES ({marks})", rows)
        self._priced_keys.update(missing)

    def priced(self, relation: str, start_ns: str) -> str:
        """SQL: every column of `relation` (alias r) plus cost_usd, cost_source, price_period re-estimated."""
        self._ensure_prices(relation)
        key_match = " AND ".join(
            f"p.{_q('k_' + name)} = {expr}"
            for name, expr in zip(pricing.PRICE_KEY_COLUMNS, _key_exprs("r"), strict=True)
        )
        inp, cr, cw = (
            "r.input_tokens",
            "coalesce(r.cache_read_tokens, 0)",
            "coalesce(r.cache_write_tokens, 0)",
        )
        out, rs = "coalesce(r.output_tokens, 0)", "coalesce(r.reasoning_tokens, 0)"
        fees = _fees("r")
        cost = (
            f"CASE WHEN p.base IS NULL OR {cr} + {cw} > {inp} OR {rs} > {out} THEN NULL ELSE CAST("
            f"p.base + p.per_input * {inp} + p.per_cache_read * {cr} + p.per_cache_write * {cw} "
            f"+ p.per_output * {out} + p.per_reasoning * {rs} + {fees} AS DECIMAL(18,10)) END"
        )
        return f"""
            SELECT * EXCLUDE ({_cols(_PRICED)}, __cost, __source, __period), __cost AS cost_usd,
              CASE WHEN __cost IS NULL THEN '{pricing.SOURCE_UNPRICED}' ELSE __source END AS cost_source,
              CASE WHEN __cost IS NULL THEN NULL ELSE __period END AS price_period
            FROM (
              SELECT r.*, {cost} AS __cost, p.cost_source AS __source, p.price_period AS __period
              FROM {relation} r LEFT JOIN prices p ON {key_match}
                AND {start_ns} >= p.from_ns AND {start_ns} < p.to_ns
                AND ({start_ns} % {NS_PER_DAY}) >= p.tod_from_ns
                AND ({start_ns} % {NS_PER_DAY}) < p.tod_to_ns
                AND {inp} > p.input_above AND {inp} <= p.input_upto
            )
        """

    # --- commit ----------------------------------------------------------------------------
    def commit_staged(self) -> BatchCounts:
        """Move `stg` into the store (caller holds the transaction) and empty it."""
        con = self.con
        counts = BatchCounts(spans=self._staged())
        counts.dropped = self._move_dropped_counts()
        before = _count(con, "calls")
        row = con.execute("SELECT count(*) = count(DISTINCT (trace_id, span_id)) FROM stg").fetchone()
        if not (row and row[0]):  # the same span twice in one batch: rare, so a copy is fine
            con.execute(
                "CREATE OR REPLACE TEMP TABLE stg AS "
                "SELECT * FROM stg QUALIFY row_number() OVER (PARTITION BY trace_id, span_id) = 1"
            )
        # A stored copy of a span has the same start time: comparing only the stored rows of the batch's
        # time range lets DuckDB skip the rest by its min/max indexes, so the cost follows the batch.
        bounds = con.execute("SELECT min(start_ns) // 1000, max(start_ns) // 1000 FROM stg").fetchone()
        lo, hi = (bounds or (0, 0))[0] or 0, (bounds or (0, 0))[1] or 0
        in_batch_range = f"BETWEEN make_timestamp({int(lo)}) AND make_timestamp({int(hi)})"
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE stored AS
            SELECT s.trace_id, s.span_id FROM stg s
            WHERE EXISTS (SELECT 1 FROM calls c WHERE c.start_time {in_batch_range}
                          AND c.trace_id = s.trace_id AND c.span_id = s.span_id)
               OR EXISTS (SELECT 1 FROM attempts a WHERE a.start_time {in_batch_range}
                          AND a.trace_id = s.trace_id AND a.span_id = s.span_id)
        """)
        if _count(con, "stored"):  # spans already stored leave the batch (usually none: no copy)
            con.execute(
                "DELETE FROM stg WHERE (trace_id, span_id) IN (SELECT (trace_id, span_id) FROM stored)"
            )
        con.execute("CREATE OR REPLACE TEMP VIEW new AS SELECT * FROM stg")
        counts.duplicates = counts.spans - _count(con, "new")
        counts.per_file_new = dict(con.execute("SELECT src_file, count(*) FROM new GROUP BY ALL").fetchall())
        # tries of one call are minutes apart: a stored try is looked for within a day of the batch
        near_batch = f"BETWEEN make_timestamp({int(lo) - _DAY_US}) AND make_timestamp({int(hi) + _DAY_US})"
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE retried AS
            SELECT call_id FROM new WHERE call_id IS NOT NULL GROUP BY call_id HAVING count(*) > 1
            UNION SELECT DISTINCT c.call_id FROM calls c SEMI JOIN new n ON c.call_id = n.call_id
            WHERE c.start_time {near_batch}
        """)
        span_projection = self._from_record("n")
        # a gateway's routing attempts inside one request count as tries of the call
        tries = f"coalesce({_gateway_routing('n', 'json_array_length({routing})')}, 1)"
        single = f"""SELECT {span_projection}, {tries} AS attempts FROM new n
                     WHERE n.call_id IS NULL OR n.call_id NOT IN (SELECT call_id FROM retried)"""
        con.execute(f"CREATE OR REPLACE TEMP VIEW single AS {single}")
        rows = "single"
        if _count(con, "retried"):
            self._fold_retries(span_projection, near_batch)
            rows = "(SELECT * FROM single UNION ALL BY NAME SELECT * FROM merged)"
        # one insert for the whole batch: rows written once, straight into new row groups
        con.execute(
            f"INSERT INTO calls ({_cols(SPAN_COLUMNS)}, attempts) SELECT {_cols(SPAN_COLUMNS)}, attempts "
            f"FROM ({self.priced(rows, 'epoch_ns(r.start_time)')})"
        )
        if _needs_layer_rules(con):
            con.execute(layers.LAYER_RULES_SQL)
        counts.calls_added = _count(con, "calls") - before
        self._new_staging_table()
        for scratch in ("stored", "retried", "tries", "merged"):
            con.execute(f"DROP TABLE IF EXISTS {scratch}")
        return counts

    def _move_dropped_counts(self) -> int:
        """Count lines from `stg` to `dropped`, each once (a copied spool file adds nothing)."""
        con = self.con
        row = con.execute(f"""
            INSERT INTO dropped (host, pid, from_time, to_time, reason, count, path)
            SELECT host, pid, make_timestamp(from_ns // 1000), make_timestamp(to_ns // 1000), reason,
                   count, src_file
            FROM stg s WHERE kind = '{DROPPED_KIND}' AND NOT EXISTS (
              SELECT 1 FROM dropped d WHERE d.host IS NOT DISTINCT FROM s.host
                AND d.pid IS NOT DISTINCT FROM s.pid AND d.reason = s.reason
                AND d.from_time = make_timestamp(s.from_ns // 1000)
                AND d.to_time = make_timestamp(s.to_ns // 1000))
            QUALIFY row_number() OVER (PARTITION BY host, pid, reason, from_ns, to_ns) = 1
            RETURNING count
        """).fetchall()
        con.execute("DELETE FROM stg WHERE kind IS NOT NULL")
        return sum(r[0] for r in row)

    @staticmethod
    def _from_record(alias: str) -> str:
        """A staged record as per-span columns (times as TIMESTAMPTZ; duration from the times if absent)."""
        exprs = []
        for name in SPAN_COLUMNS:
            if name == "start_time":
                exprs.append(f"make_timestamp({alias}.start_ns // 1000)::TIMESTAMPTZ AS start_time")
            elif name == "end_time":
                exprs.append(f"make_timestamp({alias}.end_ns // 1000)::TIMESTAMPTZ AS end_time")
            elif name == "duration_ms":
                exprs.append(
                    f"coalesce({alias}.duration_ms, ({alias}.end_ns - {alias}.start_ns) / 1e6) AS duration_ms"
                )
            elif name == "price_period":
                exprs.append("NULL::VARCHAR AS price_period")
            elif name == "fallback_from":  # a gateway that failed over inside one request: it left the first
                left = _gateway_routing(
                    alias,
                    "CASE WHEN json_array_length({routing}) > 1 "
                    "AND json_extract_string({routing}, '$[0].success') = 'false' "
                    "THEN json_extract_string({routing}, '$[0].provider') END",
                )
                exprs.append(f"coalesce({alias}.fallback_from, {left}) AS fallback_from")
            else:
                exprs.append(f"{alias}.{_q(name)}")
        return ", ".join(exprs)

    def _fold_retries(self, span_projection: str, near_batch: str) -> None:
        """Tries of a retried call -> `attempts` rows, and its one calls row as the view `merged`.

        All tries of each retried call are gathered first (the batch's, priced here, and those already
        stored as an attempts row or as a single-try calls row), so the new calls rows go in with the
        batch's single insert. Stored rows are looked for only near the batch (`near_batch`, as for
        `retried`), so these scans follow the batch rather than the size of the database; rewriting
        stored rows (a DELETE, an UPDATE) happens only when a call's tries span batches.
        """
        con = self.con
        retried = "call_id IN (SELECT call_id FROM retried)"
        columns = _cols(SPAN_COLUMNS)
        new_tries = f"(SELECT {span_projection} FROM new n WHERE n.{retried})"
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE tries AS
            SELECT {columns}, 'new' AS stored_as FROM ({self.priced(new_tries, "epoch_ns(r.start_time)")})
            UNION ALL SELECT {columns}, 'attempt' FROM attempts WHERE start_time {near_batch} AND {retried}
            UNION ALL SELECT {columns}, 'call' FROM calls
              WHERE start_time {near_batch} AND {retried} AND attempts = 1
        """)
        rest = [n for n in SPAN_COLUMNS if n not in (*_IDENTITY, "end_time", "duration_ms")]
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE merged AS
            WITH ordered AS (
              SELECT t.*,
                row_number() OVER (PARTITION BY call_id ORDER BY attempt, start_time) AS first_rank,
                row_number() OVER (PARTITION BY call_id ORDER BY attempt DESC, start_time DESC) AS last_rank,
                count(*) OVER (PARTITION BY call_id) AS tries,
                min(start_time) OVER (PARTITION BY call_id) AS call_start,
                max(end_time) OVER (PARTITION BY call_id) AS call_end
              FROM tries t
            )
            SELECT {_cols(_IDENTITY, "f.")}, l.call_end AS end_time,
                   (epoch_ns(l.call_end) - epoch_ns(l.call_start)) / 1e6 AS duration_ms,
                   {_cols(rest, "l.")}, l.tries AS attempts
            FROM ordered f JOIN ordered l ON f.call_id = l.call_id AND f.first_rank = 1 AND l.last_rank = 1
        """)
        con.execute(f"""
            INSERT INTO attempts (call_trace_id, call_span_id, {columns})
            SELECT m.trace_id, m.span_id, {_cols(SPAN_COLUMNS, "t.")}
            FROM tries t JOIN merged m ON t.call_id = m.call_id WHERE t.stored_as <> 'attempt'
        """)
        row = con.execute("SELECT count(*) FILTER (stored_as <> 'new') FROM tries").fetchone()
        if row and row[0]:  # tries already stored: their old calls row goes, their attempts rows follow
            con.execute(f"""
                UPDATE attempts SET call_trace_id = m.trace_id, call_span_id = m.span_id
                FROM merged m WHERE attempts.start_time {near_batch} AND attempts.call_id = m.call_id
                  AND (attempts.call_trace_id, attempts.call_span_id) <> (m.trace_id, m.span_id)
            """)
            con.execute(f"DELETE FROM calls WHERE start_time {near_batch} AND {retried}")

    # --- reprice ---------------------------------------------------------------------------
    def reprice(self, since_ns: int | None) -> int:
        """Re-estimate stored costs (calls and attempts) with the current prices; returns calls updated."""
        con = self.con
        where = "" if since_ns is None else f"WHERE epoch_ns(start_time) >= {int(since_ns)}"
        updated = 0
        for table in ("calls", "attempts"):
            con.execute(f"CREATE OR REPLACE TEMP VIEW to_price AS SELECT * FROM {table} {where}")
            con.execute(f"""
                UPDATE {table}
                SET cost_usd = p.cost_usd, cost_source = p.cost_source, price_period = p.price_period
                FROM ({self.priced("to_price", "epoch_ns(r.start_time)")}) p
                WHERE {table}.trace_id = p.trace_id AND {table}.span_id = p.span_id
            """)
            if table == "calls":
                row = con.execute(f"SELECT count(*) FROM calls {where}").fetchone()
                updated = int(row[0]) if row else 0
        return updated


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def _needs_layer_rules(con: duckdb.DuckDBPyConnection) -> bool:
    """Layer rules only matter once a foreign span or a wrapper is in play (never for spool-only data)."""
    row = con.execute(
        f"SELECT EXISTS (SELECT 1 FROM new WHERE source IS DISTINCT FROM '{layers.OWN_SOURCE}' "
        f"OR {LAYER_COLUMN} IS NOT NULL) OR EXISTS (SELECT 1 FROM calls WHERE source IS DISTINCT FROM "
        f"'{layers.OWN_SOURCE}' OR {LAYER_COLUMN} IS NOT NULL)"
    ).fetchone()
    return bool(row and row[0])
