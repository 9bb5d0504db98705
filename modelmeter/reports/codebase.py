"""The static scan (`modelmeter scan --db`) joined to what ran: the inventory's two halves meet here.

A key in the code and a key at runtime meet on their fingerprint (both come from
`instrument/keys.fingerprint`). A unit meets its calls through the keys it holds, the workflow tags
its code names (`tag(workflow=...)`, `MODELMETER_WORKFLOW=...`), or its package name being the
calls' `service`. Only the latest scan of each scanned root counts.
"""

from __future__ import annotations

import duckdb
import polars as pl

from modelmeter.reports.model import Table
from modelmeter.reports.params import Scope
from modelmeter.reports.source import fetch, fetch_row

_LATEST = """
    found AS (
      SELECT f.* FROM scan_findings f
      JOIN (SELECT scan_id FROM scans
            QUALIFY row_number() OVER (PARTITION BY root ORDER BY scanned_at DESC) = 1) USING (scan_id)
    )"""
_PLACE = """f.unit || ': ' || f.path || CASE WHEN f.git_commit IS NOT NULL
      THEN ' (commit ' || f.git_commit || ')' WHEN f.line IS NOT NULL THEN ':' || f.line ELSE '' END"""


def has_scan(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the database holds at least one stored scan."""
    tables = fetch_row(
        con,
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_name IN ('scans', 'scan_findings')",
    )
    return tables["n"] == 2 and bool(fetch_row(con, "SELECT count(*) AS n FROM scans")["n"])


def tables(con: duckdb.DuckDBPyConnection, scope: Scope) -> list[Table]:
    """The inventory's static tables: runtime keys and where the code holds them, keys in the code
    never seen at runtime, and each unit with the workflows its calls were tagged with."""
    return [
        Table(
            "keys_in_code",
            "Keys seen at runtime, and where the code holds them",
            runtime_keys(con, scope),
            "Matched on the key fingerprint; 'not in the scanned code' means the key comes from "
            "somewhere the scan did not read (a secret store, the deployment's environment).",
        ),
        Table(
            "keys_not_seen",
            "Keys in the code never seen at runtime (in this window)",
            unseen_keys(con, scope),
            "Stale or unused keys: revoke them, or they may be used by something not instrumented.",
        ),
        Table(
            "units",
            "Deployable units (static scan) and the workflows their calls were tagged with",
            unit_workflows(con, scope),
            "Told by a key the unit holds, a workflow tag its code names, or its package name as the "
            "calls' service; empty when none of these can tell.",
        ),
    ]


def runtime_keys(con: duckdb.DuckDBPyConnection, scope: Scope) -> pl.DataFrame:
    return fetch(
        con,
        f"""
        WITH {_LATEST},
        runtime AS (
          SELECT key_fingerprint, any_value(auth_kind) AS auth_kind,
            string_agg(DISTINCT route, ', ' ORDER BY route) AS routes, count(*) AS calls,
            string_agg(DISTINCT workflow, ', ' ORDER BY workflow) AS workflows
          FROM calls WHERE ({scope.where}) AND key_fingerprint IS NOT NULL
          GROUP BY key_fingerprint
        ),
        held AS (
          SELECT f.value AS key_fingerprint,
            string_agg(DISTINCT {_PLACE}, '; ' ORDER BY {_PLACE}) AS held_in
          FROM found f WHERE f.kind = 'literal_key' GROUP BY f.value
        )
        SELECT r.*, coalesce(h.held_in, 'not in the scanned code') AS held_in
        FROM runtime r LEFT JOIN held h USING (key_fingerprint)
        ORDER BY h.held_in IS NULL, r.calls DESC, r.key_fingerprint
        """,
        scope.args,
    )


def unseen_keys(con: duckdb.DuckDBPyConnection, scope: Scope) -> pl.DataFrame:
    return fetch(
        con,
        f"""
        WITH {_LATEST}
        SELECT f.value AS key_fingerprint, any_value(f.detail) AS kind,
          string_agg(DISTINCT {_PLACE}, '; ' ORDER BY {_PLACE}) AS held_in,
          bool_or(f.category = 'history') AS in_git_history
        FROM found f
        WHERE f.kind = 'literal_key' AND f.value NOT IN (
          SELECT key_fingerprint FROM calls WHERE ({scope.where}) AND key_fingerprint IS NOT NULL
        )
        GROUP BY f.value ORDER BY held_in
        """,
        scope.args,
    )


def unit_workflows(con: duckdb.DuckDBPyConnection, scope: Scope) -> pl.DataFrame:
    return fetch(
        con,
        f"""
        WITH {_LATEST},
        units AS (
          SELECT u.* FROM scan_units u JOIN (SELECT DISTINCT scan_id FROM found) USING (scan_id)
        ),
        scoped AS (SELECT workflow, key_fingerprint, service FROM calls WHERE ({scope.where})),
        links AS (
          SELECT f.scan_id, f.unit, c.workflow, 'key' AS how
          FROM found f JOIN scoped c ON c.key_fingerprint = f.value WHERE f.kind = 'literal_key'
          UNION ALL
          SELECT f.scan_id, f.unit, c.workflow, 'tag in code'
          FROM found f JOIN scoped c ON c.workflow = f.value WHERE f.kind = 'workflow_tag'
          UNION ALL
          SELECT u.scan_id, u.unit, c.workflow, 'service name'
          FROM units u JOIN scoped c ON c.service = u.name
        ),
        told AS (
          SELECT scan_id, unit,
            string_agg(DISTINCT workflow, ', ' ORDER BY workflow) AS workflows,
            string_agg(DISTINCT how, ', ' ORDER BY how) AS told_by
          FROM links WHERE workflow IS NOT NULL GROUP BY scan_id, unit
        )
        SELECT u.unit, u.name, u.verdict, u.gateways, u.still_direct, t.workflows, t.told_by
        FROM units u LEFT JOIN told t USING (scan_id, unit)
        ORDER BY u.unit
        """,
        scope.args,
    )


def units_of_workflows(con: duckdb.DuckDBPyConnection, scope: Scope) -> dict[str, str]:
    """workflow -> the units that hold its code (as `unit_workflows` tells them), comma-separated."""
    frame = unit_workflows(con, scope).filter(pl.col("workflows").is_not_null())
    found: dict[str, list[str]] = {}
    for unit, workflows in frame.select("unit", "workflows").iter_rows():
        for workflow in str(workflows).split(", "):
            found.setdefault(workflow, []).append(unit)
    return {workflow: ", ".join(units) for workflow, units in found.items()}
