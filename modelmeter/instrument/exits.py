"""Writing the spool out before a process ends, wherever the end can be seen.

- A normal exit: `atexit` (registered by `instrument()`).
- A `multiprocessing` worker returning from its target: the process leaves through
  `os._exit` after running multiprocessing's own finalizers, not `atexit`; we register one of those
  in every process multiprocessing starts (fork, forkserver or spawn).
- SIGTERM (how `Pool.terminate()`, and so `with Pool() as p:`, ends its workers; how most process
  managers stop a service): when the app has no handler of its own, ours writes the spool out and
  then lets the signal end the process as it would have. A handler the app installs later replaces
  ours, and we never replace one the app installed.
- `os._exit` and SIGKILL cannot be seen: records reach the OS within `spool.WRITE_DELAY_S` of a
  call's end, and ingest reads a file its writer left open.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

log = logging.getLogger("modelmeter")

EXIT_FLUSH_TIMEOUT_S = 2.0

_flush: Callable[[float], bool] | None = None


def watch(flush: Callable[[float], bool]) -> None:
    """Call `flush(timeout_s)` before this process, and those it starts, end where we can see it."""
    global _flush
    _flush = flush
    _watch_sigterm()
    _watch_multiprocessing()


def unwatch() -> None:
    global _flush
    _flush = None
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread and signal.getsignal(signal.SIGTERM) is _on_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _flush_now() -> None:
    flush = _flush
    if flush is None or _flushing:
        return
    try:
        flush(EXIT_FLUSH_TIMEOUT_S)
    except Exception:
        log.debug("modelmeter: flush at exit failed", exc_info=True)


_flushing = False  # a flush is under way (`flushing`)
_terminate_after = False  # SIGTERM came during it: end the process once it is done


@contextlib.contextmanager
def flushing() -> Iterator[None]:
    """Around every flush: a SIGTERM that interrupts one lets it finish (the calls it took from the
    queue are written) and ends the process after."""
    global _flushing
    outer = _flushing
    _flushing = True
    try:
        yield
    finally:
        _flushing = outer
        if not outer and _terminate_after:
            _end_by_sigterm()


def _forget_after_fork() -> None:
    """A forked child is flushing nothing, whatever its parent's threads were doing."""
    global _flushing, _terminate_after
    _flushing = _terminate_after = False


os.register_at_fork(after_in_child=_forget_after_fork)


def _watch_sigterm() -> None:
    """Ours when SIGTERM has no Python handler (only the main thread may set one)."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _on_sigterm)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    global _terminate_after
    if _flushing:  # we interrupted a flush: it ends the process when done (`flushing`)
        _terminate_after = True
        return
    _flush_now()
    _end_by_sigterm()


def _end_by_sigterm() -> None:
    """End the process as SIGTERM's default disposition would."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


class _Token:
    """What multiprocessing's after-fork registry holds on to (it keeps weak references)."""


_token: _Token | None = None


def _watch_multiprocessing() -> None:
    global _token
    if _token is not None:
        return
    import multiprocessing.util as mp_util  # stdlib; imported once, when instrumenting

    _token = _Token()
    mp_util.register_after_fork(_token, _in_started_process)


def _in_started_process(_: Any) -> None:
    """Run by multiprocessing in each process it starts, after it has emptied its finalizers."""
    import multiprocessing.util as mp_util

    mp_util.Finalize(None, _flush_now, exitpriority=10)
