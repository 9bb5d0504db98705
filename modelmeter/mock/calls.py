"""What the mock served: the truth that tests compare spans and database rows against."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class MockUsage:
    """Token usage, normalised inclusive: input counts cache reads and writes; output counts reasoning."""

    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0


@dataclass(frozen=True)
class ServedCall:
    """One HTTP request the mock answered (faults included)."""

    vendor: str
    method: str
    path: str
    operation: str | None
    request_model: str | None
    response_model: str | None
    provider: str | None
    served_by: str | None
    streaming: bool
    http_status: int
    fault: str | None
    request_id: str | None
    response_id: str | None
    finish_reason: str | None
    usage: MockUsage | None
    wire_usage: dict[str, Any] | None
    reported_cost_usd: Decimal | None
    retry_count: int | None
    user_agent: str | None
    started_at: float
    finished_at: float
    content: str | None
    byok: bool = False


class CallLog:
    """Thread-safe, append-only list of served calls (the server thread appends, tests read)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[ServedCall] = []

    def append(self, call: ServedCall) -> None:
        with self._lock:
            self._calls.append(call)

    def snapshot(self) -> list[ServedCall]:
        with self._lock:
            return list(self._calls)

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()
