"""Which HTTP attempts are one logical call, and which call a failover left.

Scope: the thread (sync code) or asyncio task (async code) that makes the request, together with
its tag scope. Within a scope we remember the last attempt:
- a request with the same body as the last attempt is a retry of it (same call id, attempt + 1)
  when the SDK says so (`x-stainless-retry-count` > 0), or, for SDKs without that header and
  hand-written retry loops, when the last attempt failed and ended less than RETRY_WINDOW_S ago;
- otherwise it is a new call; if the previous call failed less than FALLBACK_WINDOW_S ago and
  this one asks for a different model or provider, it is marked `fallback_from` that model.
Ingest folds attempts by call id. Memory is bounded: at most MAX_SCOPES scopes are remembered.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from dataclasses import dataclass

RETRY_WINDOW_S = 10.0
FALLBACK_WINDOW_S = 5.0
MAX_SCOPES = 4096


@dataclass(slots=True)
class _Last:
    call_id: str
    attempt: int
    body_key: int
    model: str | None
    failed: bool = False
    ended_at: float = 0.0  # perf_counter; 0 while in flight


_last: dict[tuple[int, int], _Last] = {}
# reentrant: the cyclic garbage collector can end an abandoned stream's call (its finalizer calls
# `end`) on whatever thread it runs, also one that is inside `begin` at that moment
_lock = threading.RLock()


def scope_key(is_async: bool, tag_scope: int) -> tuple[int, int]:
    if is_async:
        try:
            task = asyncio.current_task()
        except RuntimeError:
            task = None
        if task is not None:
            return id(task), tag_scope
    return threading.get_ident(), tag_scope


_ids = random.Random()  # seeded from the OS once; os.urandom per call is a slow syscall on some VMs


def new_call_id() -> str:
    return f"{_ids.getrandbits(64):016x}"


def begin(
    scope: tuple[int, int], body_key: int, model: str | None, sdk_retry: int | None
) -> tuple[str, int, str | None]:
    """(call id, attempt number, fallback_from) for an attempt that starts now."""
    now = time.perf_counter()
    with _lock:
        last = _last.get(scope)
        if last is not None and last.body_key == body_key:
            recent_failure = last.failed and now - last.ended_at < RETRY_WINDOW_S
            # the SDK's own count wins: 0 says "first try", whatever came before
            if (sdk_retry or 0) > 0 or (sdk_retry is None and recent_failure):
                attempt = sdk_retry if sdk_retry else last.attempt + 1
                _last[scope] = _Last(last.call_id, attempt, body_key, model)
                return last.call_id, attempt, None
        fallback_from = None
        if (
            last is not None
            and last.failed
            and last.ended_at
            and now - last.ended_at < FALLBACK_WINDOW_S
            and last.model != model
        ):
            fallback_from = last.model
        if len(_last) >= MAX_SCOPES:
            _last.clear()
        call_id = new_call_id()
        _last[scope] = _Last(call_id, sdk_retry or 0, body_key, model)
        return call_id, sdk_retry or 0, fallback_from


def end(scope: tuple[int, int], call_id: str, failed: bool) -> None:
    """Record how an attempt ended."""
    with _lock:
        last = _last.get(scope)
        if last is not None and last.call_id == call_id:
            last.failed = failed
            last.ended_at = time.perf_counter()
