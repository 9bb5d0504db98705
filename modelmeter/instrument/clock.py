"""The wall clock that span start and end times come from.

A seam for the demo only: it replaces `now_ns` to place calls across a simulated week. Durations
are always measured with `time.perf_counter`, so replacing the clock never changes them. Callers
must look the function up on this module at call time (`clock.now_ns()`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

now_ns: Callable[[], int] = time.time_ns  # the builtin itself: no Python frame per call
