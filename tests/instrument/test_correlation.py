"""Retries and fallbacks decided from the attempts' log (instrument/correlation.py)."""

from __future__ import annotations

import threading

import pytest

from modelmeter.instrument import correlation


class _Failure:
    """Finds out, when asked, that the attempt failed (as reading its body would)."""

    def outcome(self) -> bool:
        return True


class _Attempt:
    """The least an attempt must have for `correlation`."""

    call_id, attempt, fallback_from, began_at = "", 0, None, 1.0

    def __init__(self, scope: tuple[int, int]) -> None:
        self.scope = scope

    def identity(self) -> tuple[int, str | None, int | None]:
        return 1, "openai/gpt-4o-mini", None


def test_a_call_ended_by_garbage_collection_inside_settle_does_not_deadlock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An abandoned stream in a reference cycle is ended when the cyclic collector runs, on whatever
    thread allocated at that moment, also one inside `correlation.settle`; with SDK spans that end
    settles too."""
    real_last = correlation._Last

    def last_that_triggers_a_collection(*args: object) -> object:
        correlation.ended((_Attempt((-1, 0)), 2.0, True))  # what the abandoned call's end does
        correlation.settle()
        return real_last(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(correlation, "_Last", last_that_triggers_a_collection)
    attempt = _Attempt((-2, 0))
    settled = threading.Event()

    def settle() -> None:
        correlation.began(attempt)
        correlation.settle()
        settled.set()

    threading.Thread(target=settle, daemon=True).start()
    assert settled.wait(5), "correlation.settle deadlocked on its own lock"
    assert len(attempt.call_id) == 16


def test_settling_later_decides_as_deciding_at_once() -> None:
    """The log is replayed with the times it recorded: a failure that ended 3 s before the next
    attempt makes that attempt a retry (same body) or a fallback (other model), even when settled
    much later; 12 s apart, the same body is a new call."""
    scope = (-3, 0)
    first, retry = _Attempt(scope), _Attempt(scope)
    retry.began_at = 4.0
    correlation.began(first)
    correlation.ended((first, 1.0 + 0.1, _Failure()))  # a failure found by reading the body
    correlation.began(retry)
    correlation.ended((retry, 4.5, True))
    late = _Attempt(scope)
    late.began_at = 16.6
    correlation.began(late)
    correlation.settle()
    assert (retry.call_id, retry.attempt) == (first.call_id, 1)
    assert late.call_id != first.call_id and late.attempt == 0

    other_scope = (-4, 0)
    failed, fallback = _Attempt(other_scope), _Attempt(other_scope)
    fallback.identity = lambda: (2, "openai/gpt-4o", None)  # type: ignore[method-assign]
    fallback.began_at = 3.0
    correlation.began(failed)
    correlation.ended((failed, 1.5, _Failure()))
    correlation.began(fallback)
    correlation.settle()
    assert fallback.call_id != failed.call_id and fallback.fallback_from == "openai/gpt-4o-mini"
