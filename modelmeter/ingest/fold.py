"""Retries and failover among foreign spans, which carry no `call_id` of their own.

Our shim marks the tries of one logical call with `call_id` / `attempt` and sets `fallback_from`
itself. Foreign instrumentations do not, so within the spans of one file:
- siblings (same trace, same parent) with the same request fingerprint (operation, provider, request
  model), where each earlier one failed, are tries of one call: they share a `call_id`;
- a successful call that follows a failed call of the same trace to another model or provider is a
  failover: it gets `fallback_from` = the model (canonical name) the failure left.
A source module that knows better (a retry counter) sets `call_id` / `attempt` and is left alone.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Any

from modelmeter.ingest.normalise.layers import OWN_SOURCE


def _fingerprint(record: dict[str, Any]) -> tuple[Any, ...]:
    return (record.get("operation"), record.get("provider"), record.get("request_model"))


def _target(record: dict[str, Any]) -> tuple[Any, ...]:
    return (record.get("provider"), record.get("request_model"))


def _failed(record: dict[str, Any]) -> bool:
    return record.get("status") == "error"


def fold_foreign(records: list[dict[str, Any]]) -> None:
    """Set call_id, attempt and fallback_from on foreign records, in place."""
    foreign = [r for r in records if r.get("source") != OWN_SOURCE and r.get("layer") is None]
    siblings: dict[tuple[Any, Any], list[dict[str, Any]]] = defaultdict(list)
    for record in foreign:
        if record.get("call_id") is None:
            siblings[(record["trace_id"], record.get("parent_span_id"))].append(record)
    for group in siblings.values():
        group.sort(key=lambda r: r["start_ns"])
        previous: dict[str, Any] | None = None
        for record in group:
            if previous is not None and _failed(previous) and _fingerprint(previous) == _fingerprint(record):
                record["call_id"], record["attempt"] = previous["call_id"], previous["attempt"] + 1
            else:
                record["call_id"], record["attempt"] = f"{record['trace_id']}-{record['span_id']}", 0
            previous = record
    _mark_failovers(foreign)


def _mark_failovers(records: list[dict[str, Any]]) -> None:
    by_trace: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_trace[record["trace_id"]].append(record)
    for calls in by_trace.values():
        calls.sort(key=lambda r: r["start_ns"])
        for previous, record in itertools.pairwise(calls):
            same_call = previous.get("call_id") == record.get("call_id")
            moved = _target(previous) != _target(record)
            if (
                _failed(previous)
                and not _failed(record)
                and moved
                and not same_call
                and not record.get("fallback_from")
            ):
                record["fallback_from"] = previous.get("model") or previous.get("request_model")
