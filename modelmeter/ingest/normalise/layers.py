"""One logical call counts once, however many instrumentation layers reported it.

Two rules, applied in SQL to the traces a batch touches (so they also hold when the layers of one
call arrive in different files, in any order):

1. Ours is richer. A foreign GenAI span whose direct child is a modelmeter span (the anthropic SDK's
   span around our transport span, OpenLLMetry's around ours, ...) is dropped.
2. Outer wrappers yield. A record that a source marks with `layer = "outer"` (`OUTER`) stands for a
   wrapper around an inner call span (the Vercel AI SDK's ai.generateText around ai.generateText.doGenerate).
   When a child row of it exists in the same trace, the wrapper row is dropped and the child inherits
   the wrapper's attribution (workflow, team, tier, run, environment, service where the child has none)
   and the wrapper's attributes the child lacks (e.g. ai.telemetry.metadata.*).

The interface for a source module is just that record key: set `record[LAYER_KEY] = OUTER` on a
wrapper span; leave it unset on inner spans. A wrapper with no inner child stays a call of its own.
"""

from __future__ import annotations

OWN_SOURCE = "modelmeter"
LAYER_KEY = "layer"
OUTER = "outer"
INHERITED_COLUMNS: tuple[str, ...] = ("workflow", "team", "tier", "run", "environment", "service")

_TOUCHED = "calls.trace_id IN (SELECT trace_id FROM new)"
_INHERIT = ", ".join(f"{c} = coalesce(calls.{c}, o.{c})" for c in INHERITED_COLUMNS)

LAYER_RULES_SQL = f"""
UPDATE calls SET {_INHERIT},
  attributes = json_merge_patch(coalesce(o.attributes, '{{}}'), coalesce(calls.attributes, '{{}}'))
FROM calls o
WHERE o.{LAYER_KEY} = '{OUTER}' AND o.trace_id = calls.trace_id AND calls.parent_span_id = o.span_id
  AND {_TOUCHED};
DELETE FROM calls
WHERE {LAYER_KEY} = '{OUTER}' AND {_TOUCHED}
  AND EXISTS (SELECT 1 FROM calls c WHERE c.trace_id = calls.trace_id AND c.parent_span_id = calls.span_id);
DELETE FROM calls
WHERE source IS DISTINCT FROM '{OWN_SOURCE}' AND {_TOUCHED}
  AND EXISTS (SELECT 1 FROM calls m WHERE m.source = '{OWN_SOURCE}' AND m.trace_id = calls.trace_id
              AND m.parent_span_id = calls.span_id);
"""
