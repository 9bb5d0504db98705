"""Which HTTP attempts are one logical call, and which call a failover left.

Scope: the thread (sync code) or asyncio task (async code) that makes the request, together with
its tag scope. Within a scope we remember the last attempt:
- a request with the same body as the last attempt is a retry of it (same call id, attempt + 1)
  when the SDK says so (`x-stainless-retry-count` > 0), or, for SDKs without that header and
  hand-written retry loops, when the last attempt failed and ended less than RETRY_WINDOW_S ago;
- otherwise it is a new call; if the previous call failed less than FALLBACK_WINDOW_S ago and
  this one asks for a different model or provider, it is marked `fallback_from` that model.

The app's thread only logs that an attempt began or ended (`began`, `ended`: an append). The
decisions are made when someone needs them (`settle`, just before a span's attributes are made):
by then the request body is decoded and the response read on the spool's thread, not the app's.
The log is replayed in order with the times it recorded, so the outcome is the same as deciding
at once. Ingest folds attempts by call id. Memory is bounded: at most MAX_SCOPES scopes are
remembered, and the log is emptied at every settle (every spool batch).
"""

from __future__ import annotations

import asyncio
import collections
import os
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

RETRY_WINDOW_S = 10.0
FALLBACK_WINDOW_S = 5.0
MAX_SCOPES = 4096


class Outcome(Protocol):
    """Finds out whether an attempt failed (`call.CallObservation`, reading the body)."""

    def outcome(self) -> bool: ...


class Attempt(Protocol):
    """What the log needs of an attempt (`request.RequestFacts`), and where the decision goes."""

    @property
    def scope(self) -> tuple[int, int]:
        """(the thread's ident or the asyncio task's id that made it, its tag scope's serial)."""
        ...

    began_at: float  # perf_counter
    call_id: str
    attempt: int
    fallback_from: str | None

    def identity(self) -> tuple[int, str | None, int | None]:
        """(body key, requested canonical model, the SDK's retry count) of the request."""
        ...


# an attempt that began, or (attempt, perf_counter at its end, whether it failed)
Failed = bool | Outcome
_Entry = Attempt | tuple[Attempt, float, Failed]


@dataclass(slots=True)
class _Last:
    call_id: str
    attempt: int
    body_key: int
    model: str | None
    failed: bool = False
    ended_at: float = 0.0  # perf_counter; 0 while in flight


_log: collections.deque[_Entry] = collections.deque()
_last: dict[tuple[int, int], _Last] = {}
# reentrant: the cyclic garbage collector can end an abandoned stream's call (its finalizer may
# settle, in the SDK-span setup) on whatever thread it runs, also one that is inside `settle`
_lock = threading.RLock()


def task_owner() -> int:
    """Who makes an async request: the id of the running asyncio task (its thread's ident outside
    one). A sync request's owner is its thread: `threading.get_ident()`."""
    try:
        task = asyncio.current_task()
    except RuntimeError:
        task = None
    return id(task) if task is not None else threading.get_ident()


_ids = random.Random()  # seeded from the OS once; os.urandom per call is a slow syscall on some VMs


def new_call_id() -> str:
    return f"{_ids.getrandbits(64):016x}"


# on the app's thread, each only an append to the log: an attempt began; an attempt ended, given as
# (attempt, perf_counter at its end, failed), where `failed` may be what finds out (reading the
# body), which `settle` asks on its own thread
began: Callable[[Attempt], None] = _log.append
ended: Callable[[tuple[Attempt, float, Failed]], None] = _log.append


def _forget_after_fork() -> None:
    """In a forked child: its calls are new ones (ids drawn afresh, nothing pending of the parent's)."""
    global _lock
    _ids.seed()
    _log.clear()
    _last.clear()
    _lock = threading.RLock()


os.register_at_fork(after_in_child=_forget_after_fork)


def settle() -> None:
    """Decide call id, attempt number and fallback for every attempt logged so far, in order."""
    with _lock:
        while _log:
            entry = _log.popleft()
            if isinstance(entry, tuple):
                _end(*entry)
            else:
                _begin(entry)


def _begin(attempt: Attempt) -> None:
    body_key, model, sdk_retry = attempt.identity()
    scope, now = attempt.scope, attempt.began_at
    last = _last.get(scope)
    if last is not None and last.body_key == body_key:
        recent_failure = last.failed and now - last.ended_at < RETRY_WINDOW_S
        # the SDK's own count wins: 0 says "first try", whatever came before
        if (sdk_retry or 0) > 0 or (sdk_retry is None and recent_failure):
            number = sdk_retry if sdk_retry else last.attempt + 1
            _last[scope] = _Last(last.call_id, number, body_key, model)
            attempt.call_id, attempt.attempt = last.call_id, number
            return
    if (
        last is not None
        and last.failed
        and last.ended_at
        and now - last.ended_at < FALLBACK_WINDOW_S
        and last.model != model
    ):
        attempt.fallback_from = last.model
    if len(_last) >= MAX_SCOPES:
        _last.clear()
    attempt.call_id, attempt.attempt = new_call_id(), sdk_retry or 0
    _last[scope] = _Last(attempt.call_id, attempt.attempt, body_key, model)


def _end(attempt: Attempt, ended_at: float, failed: Failed) -> None:
    outcome = failed if isinstance(failed, bool) else failed.outcome()
    last = _last.get(attempt.scope)
    if last is not None and last.call_id == attempt.call_id:
        last.failed = outcome
        last.ended_at = ended_at
