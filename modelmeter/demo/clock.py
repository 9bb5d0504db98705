"""The demo's simulated clock: places each call at its moment of the week, keeps its real duration.

The shim reads wall-clock time through one replaceable function (the seam in `modelmeter.instrument`);
the demo swaps in `SimulatedClock.now_ns` for the length of the run and restores the original after.
Inside `clock.at(moment)` that function answers `moment + (real time elapsed since entering)`, so a
call's start lands on the simulated timeline while its latency, time to first token and retries are
measured as they really happened against the mock providers. The anchor is a context variable, so
worker threads each carry their own call's moment.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class _Anchor:
    simulated_ns: int
    real_ns: int


class SimulatedClock:
    """A wall clock that reads the simulated moment of the current call, or real time outside any call."""

    def __init__(self, real_now_ns: Callable[[], int] = time.time_ns) -> None:
        self._real_now_ns = real_now_ns
        self._anchor: ContextVar[_Anchor | None] = ContextVar("modelmeter_demo_anchor", default=None)

    def now_ns(self) -> int:
        anchor = self._anchor.get()
        real = self._real_now_ns()
        if anchor is None:
            return real
        return anchor.simulated_ns + (real - anchor.real_ns)

    @contextmanager
    def at(self, moment: datetime) -> Iterator[None]:
        """Within this block (and this thread or task) time starts at `moment` and runs at real speed."""
        anchor = _Anchor(simulated_ns=epoch_ns(moment), real_ns=self._real_now_ns())
        token = self._anchor.set(anchor)
        try:
            yield
        finally:
            self._anchor.reset(token)


def epoch_ns(moment: datetime) -> int:
    """Unix epoch nanoseconds of an aware datetime, exactly (no float rounding)."""
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1000
