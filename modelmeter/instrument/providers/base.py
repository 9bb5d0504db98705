"""What a wire family module provides, and the facts it extracts from one response.

A family reads a response the way its vendor writes it and fills a `Facts`: usage normalised to the
inclusive convention (input counts cache reads and writes, output counts reasoning), model, id,
finish reason, errors sent inside a 200, and what a gateway adds (reported cost, serving provider).
It never sees the raw stream: `streams.py` decodes and splits it, then calls `read_json` once for a
JSON body or `read_event` per SSE event. Families must be cheap per event: look at bytes with the
helpers below and json-decode only events that can carry something not yet known.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import orjson


class Facts:
    """What one response told us; None means "not said" (never 0 for unknown).

    The defaults live on the class, so a new Facts costs nothing per field: an instance only holds
    what a response actually said (one is made per call, on the app's thread)."""

    response_model: str | None = None
    response_id: str | None = None
    finish_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None
    error_type: str | None = None
    terminal = False  # the family's end-of-stream marker was seen
    output_seen = False  # the first output event was seen (families may stop looking for it)
    reported_cost: Decimal | None = None
    reported_cost_source: str | None = None
    served_by: str | None = None
    service_tier: str | None = None
    gateway_attempts: list[Any] | None = None
    # span attributes a family adds as they are (per-step usage, gateway ids, BYOK, tool-use counts)
    extras: dict[str, Any] | None = None
    # per-request fees by genai-prices usage key (`web_searches`) or by the vendor's own name when
    # genai-prices has none (then the estimate says it leaves them out)
    fees: dict[str, int] | None = None
    # the compaction steps' usage (input inclusive, cache read, cache write, output), priced apart
    compaction: tuple[int, int, int, int] | None = None
    output_parts: list[str] | None = None  # only when content capture is on
    pending: list[bytes | None] | None = None  # events a family decodes at the end

    @property
    def wants_output(self) -> bool:
        """Whether output events still matter: the first one (time to first token), or all of them
        when content is captured."""
        return not self.output_seen or self.output_parts is not None

    @property
    def usage_known(self) -> bool:
        return self.input_tokens is not None or self.output_tokens is not None

    def set_usage(
        self,
        input_tokens: Any,
        output_tokens: Any,
        cache_read: Any = 0,
        cache_write: Any = 0,
        reasoning: Any = 0,
    ) -> None:
        """Record usage already in the inclusive form; parts the vendor did not send count as 0."""
        self.input_tokens = as_int(input_tokens)
        self.output_tokens = as_int(output_tokens)
        self.cache_read_tokens = as_int(cache_read) or 0
        self.cache_write_tokens = as_int(cache_write) or 0
        self.reasoning_tokens = as_int(reasoning) or 0

    def report_cost(self, value: Any, source: str) -> None:
        """A cost a gateway says it billed (a number or a decimal string)."""
        cost = as_decimal(value)
        if cost is not None:
            self.reported_cost = cost
            self.reported_cost_source = source

    def extra(self, name: str, value: Any) -> None:
        """Keep one more span attribute (None is not kept)."""
        if value is None:
            return
        if self.extras is None:
            self.extras = {}
        self.extras[name] = value

    def capture(self, text: Any) -> None:
        if self.output_parts is not None and isinstance(text, str) and text:
            self.output_parts.append(text)


class WireFamily:
    """One wire family: how to recognise its requests and read its responses.

    Subclasses override what differs. `NAME` goes to `modelmeter.wire_family`; `OPERATION` is the
    default `gen_ai.operation.name`. A stream's end is the family's to see (`Facts.terminal`).
    """

    NAME = "unknown"
    OPERATION = "chat"
    ENDS_AT_EOF = False  # no terminal marker on the wire: a stream that reaches EOF is complete
    # After the first output event, complete events before the first occurrence of any SKIM probe
    # are skipped unread; None: every event is read. Probes must find every event still needed.
    SKIM: tuple[bytes, ...] | None = None

    def skim_probes(self, kind: str | None) -> tuple[bytes, ...] | None:
        """The SKIM probes worth looking for on this route (`kind`: vendor, gateway or None); each
        probe costs a scan of the whole stream, so families drop those the route cannot send."""
        return self.SKIM

    def matches(self, path: str) -> bool:
        raise NotImplementedError

    def request_model(self, path: str, body: dict[str, Any] | None) -> str | None:
        model = body.get("model") if body else None
        return model if isinstance(model, str) else None

    def streaming(self, path: str, body: dict[str, Any] | None) -> bool:
        return bool(body and body.get("stream") is True)

    def operation(self, path: str) -> str:
        return self.OPERATION

    def read_json(self, doc: Any, facts: Facts) -> None:
        """Read a whole JSON response body (success or error)."""

    def read_event(self, event: str | None, data: bytes, facts: Facts) -> bool:
        """Read one SSE event; return True when it carries model output (the time-to-first-token event)."""
        return False

    def finish_stream(self, facts: Facts) -> None:
        """Called once when a stream ends, for families that defer decoding to the end."""


# --- helpers shared by families -------------------------------------------------------------------


def as_int(value: Any) -> int | None:
    if type(value) is int:  # not bool, which is an int subclass
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def as_decimal(value: Any) -> Decimal | None:
    """A money amount as sent; floats go through repr so no binary noise enters the Decimal."""
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


def money(value: Any) -> str | None:
    """A money amount as a plain decimal string (`0.0000315`, never `3.15e-05`), None if not one."""
    amount = as_decimal(value)
    return None if amount is None else format(amount, "f")


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def loads(data: bytes) -> Any:
    return orjson.loads(data)


def has_text(data: bytes, key: bytes) -> bool:
    """True when `key` holds a non-empty string somewhere in `data`."""
    start = 0
    while True:
        at = data.find(key, start)
        if at < 0:
            return False
        i = at + len(key)
        n = len(data)
        while i < n and data[i] in b" \t:":
            i += 1
        if i + 1 < n and data[i] == 34 and data[i + 1] != 34:
            return True
        start = at + len(key)


def dig(doc: Any, *path: Any) -> Any:
    """doc[p0][p1]... or None when any step is missing or of the wrong type."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(doc, list) or len(doc) <= step:
                return None
        elif not isinstance(doc, dict):
            return None
        doc = doc[step] if isinstance(step, int) else doc.get(step)
    return doc


def error_type_of(error: Any) -> str:
    """The most specific name an error object gives: type, code, status, else a generic word."""
    if isinstance(error, dict):
        for key in ("type", "code", "status"):
            value = error.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, int) and not isinstance(value, bool):
                return str(value)
    if isinstance(error, str) and error:
        return error
    return "error"


def event_type(data: bytes) -> str | None:
    """An SSE event's `"type"` from its payload, for servers that send no `event:` line."""
    at = data.find(b'"type":"')
    if at < 0:
        return None
    end = data.find(b'"', at + 8)
    return data[at + 8 : end].decode() if end > 0 else None
