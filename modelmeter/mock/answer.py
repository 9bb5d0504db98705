"""The contract between the dispatcher and a wire family: what was asked, and the answer to send.

A family turns an `Ask` into an `Answer`: a JSON body, or a list of SSE `Frame`s. It never sleeps,
never writes to a socket and never decides faults; the dispatcher does that the same way for every
family, so a knob behaves alike everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson

from modelmeter.mock.calls import MockUsage
from modelmeter.mock.http11 import HttpRequest
from modelmeter.mock.knobs import Knobs


@dataclass(frozen=True)
class Routing:
    """A gateway's routing decision: which model of the fallback chain served, and who served it."""

    gateway: str
    requested_model: str
    served_model: str
    served_by: str
    failed_models: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ask:
    """One request as a family sees it: body parsed, model read, knobs resolved."""

    vendor: str
    request: HttpRequest
    body: dict[str, Any]
    model: str
    streaming: bool
    knobs: Knobs
    seq: int
    routing: Routing | None = None
    # remembers prompt prefixes already cached (Anthropic-style explicit caching); returns True if seen
    seen_prefix: Callable[[str], bool] = field(default=lambda _key: False)

    @property
    def chunks(self) -> int:
        return self.knobs.chunks if self.knobs.chunks is not None else 5

    def make_id(self, prefix: str, width: int = 12) -> str:
        """A deterministic id unique within this mock run."""
        return f"{prefix}{self.seq:0{width}d}"


@dataclass(frozen=True)
class Frame:
    """One SSE event as bytes, with what it tells the client."""

    data: bytes
    output: bool = False  # carries model output (the time-to-first-token event)
    text: str = ""  # the answer text this event adds
    terminal: bool = False  # the family's end-of-stream marker, left out by the "cut" fault
    usage: MockUsage | None = None  # usage as known to a client that has read up to here
    wire_usage: dict[str, Any] | None = None
    cost: Decimal | None = None  # cost a gateway reported in this event


@dataclass
class Answer:
    """A successful answer plus the facts recorded in the ServedCall."""

    operation: str
    response_model: str | None
    provider: str | None
    response_id: str | None
    finish_reason: str | None
    content: str
    body: dict[str, Any] | None = None
    frames: list[Frame] | None = None
    usage: MockUsage | None = None  # for JSON bodies; streams take it from the frames sent
    wire_usage: dict[str, Any] | None = None
    reported_cost_usd: Decimal | None = None
    served_by: str | None = None
    byok: bool = False  # a gateway served it with the caller's own provider credentials
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def sse(payload: Any, event: str | None = None, *, crlf: bool = False) -> bytes:
    """One SSE event; Google separates events with CRLF, everyone else with LF."""
    data = payload if isinstance(payload, bytes) else dumps(payload)
    eol = b"\r\n" if crlf else b"\n"
    head = b"event: " + event.encode() + eol if event else b""
    return head + b"data: " + data + eol + eol
