"""One observed HTTP attempt, from the request leaving to the end of its response body (consumed,
closed, failed or abandoned; never when the headers arrive): the state machine that reads the body
as the app reads it, then hands the call to the spool and, when one was made, ends its span.

What the call was is `describe.describe`'s answer. When a recording span waits for it (someone
listens to our spans), it is made on the app's thread as the body ends and set on the span at once;
otherwise the app's thread only keeps the bytes, and decoding the request, reading a JSON body and
describing the call wait for the spool's thread (`CallObservation.end`). Every step on the app's
thread is guarded; a failure in our own parsing turns parsing off for this call
(`modelmeter.parse_error`) and the bytes keep flowing.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from opentelemetry.trace import Span, Status, StatusCode

from modelmeter import semconv as sc
from modelmeter.instrument import correlation, shortcuts
from modelmeter.instrument.describe import Answer, describe
from modelmeter.instrument.providers import Facts
from modelmeter.instrument.providers.gateway_extras import read_litellm_headers
from modelmeter.instrument.request import HeaderItems, RequestFacts, lowered
from modelmeter.instrument.streams import JsonCollector, SSEFramer, decoder_for, salvage, split_spaced

log = logging.getLogger("modelmeter")

# a larger JSON response body is read on the app's thread as it ends, not kept for the spool's
# thread (see request.MAX_DEFERRED_REQUEST_BYTES)
MAX_DEFERRED_BODY_BYTES = 16 << 10

# streams whose body has not ended: at exit they are ended as abandoned (`end_open_streams`)
_open_streams: dict[int, CallObservation] = {}


def end_open_streams() -> None:
    """End every stream still open (the app exits with a stream it never closed), so it is recorded."""
    for observation in list(_open_streams.values()):
        observation.end("abandoned")


os.register_at_fork(after_in_child=_open_streams.clear)  # a forked child's streams are its own


# where an ended call goes (the spool's `submit`), or None when no spool is written
Submit = Callable[["CallObservation"], None]


class CallObservation:
    """State of one attempt from request to end of body; `end()` hands it on exactly once.

    Fields that start empty have their defaults on the class: one of these is made per call on the
    app's thread, and only what a call changes is stored on it."""

    done = False
    http_status: int | None = None
    _header_items: HeaderItems = ()  # the response's headers as they came (see `on_headers`)
    ttft_s: float | None = None
    parse_error: str | None = None  # set: parsing stopped ("" when only for invalid JSON)
    bad_body = False  # the server sent JSON that does not decode
    _decode: Callable[[bytes], bytes] | None = None
    _framer: SSEFramer | None = None
    _json_body = False  # the body is JSON (collected whole, read at the end)
    _json: JsonCollector | None = None  # made when the first collected chunks are taken
    # batch mode (a JSON body, or a stream after its first output): the tee collects raw chunks
    # here, and `skim` takes them in one pass
    batch: list[bytes] | None = None
    _skim_probes: tuple[tuple[bytes, ...], tuple[bytes, ...]] | None = None
    # how the body ended (`end`), and what it says about the call (`outcome`)
    _how = ""
    _exception: str | None = None  # the qualified name of the exception that ended the call
    _duration_s = 0.0
    _read = False
    _listed = False  # in `_open_streams`
    error_type: str | None = None
    end_ns = 0
    parent_span_id: int | None = None
    # the span someone listens to (None: the record is all), and the attributes made for it
    span: Span | None = None
    attributes: dict[str, Any] | None = None

    def __init__(
        self, request: RequestFacts, start_ns: int, trace_id: int, span_id: int, submit: Submit | None
    ) -> None:
        self.request = request
        self.family = request.route.family
        self.start_ns = start_ns
        self.trace_id = trace_id
        self.span_id = span_id
        self.submit = submit
        self.facts = Facts()
        if request.capture_max:
            self.facts.output_parts = []

    # --- response side ---------------------------------------------------------------------

    @functools.cached_property
    def response_headers(self) -> Mapping[bytes, bytes]:
        """Lower-cased header name -> value (made when first read, in the default setup on the
        spool's thread)."""
        return lowered(self._header_items)

    def on_headers(self, status_code: int, header_items: HeaderItems) -> None:
        """Headers arrived: pick the body reader (SSE or JSON) and the decoder. Only the two headers
        that decide it are looked at now; the rest are read with the body (`response_headers`)."""
        self.http_status = status_code
        self._header_items = header_items
        encoding = content_type = None
        for _, name, value in header_items:
            if name == b"content-type":
                content_type = value
            elif name == b"content-encoding":
                encoding = value
        if encoding:
            try:
                self._decode = decoder_for(encoding.decode("latin-1"))
            except ValueError as exc:
                self.disable_parsing(exc)
                return
        if content_type is not None and b"event-stream" in content_type:
            self._framer = SSEFramer(self._on_event)
            _open_streams[id(self)] = self
            self._listed = True
        else:  # nothing to learn before the end: the tee collects the chunks with no call per chunk
            self._json_body = True
            self.batch = []

    def feed(self, chunk: bytes) -> None:
        """One chunk of a stream as the app receives it (until batch mode, see `batch`)."""
        if self.parse_error is not None or self.done:
            return
        try:
            if self._decode is not None:
                chunk = self._decode(chunk)
            if self._framer is not None:
                self._framer.feed(chunk)
        except Exception as exc:
            self.disable_parsing(exc)

    def _on_event(self, event: str | None, data: bytes) -> None:
        if self.family.read_event(event, data, self.facts) and self.ttft_s is None:
            self.ttft_s = time.perf_counter() - self.request.began_at
            self.facts.output_seen = True
            if self.facts.output_parts is None:
                probes = self.family.skim_probes(self.request.kind)
                if probes is not None:
                    self._skim_probes = split_spaced(probes)
                    self.batch = []

    def skim(self, batch: list[bytes]) -> None:
        """Take collected chunks in one pass and empty the list: a JSON body's go to its collector;
        a stream's events the family cannot care about are skipped without being framed one by one
        (per chunk, the tee only appends)."""
        if not batch:
            return
        data = b"".join(batch)
        batch.clear()
        if self.parse_error is not None:
            return
        try:
            if self._decode is not None:
                data = self._decode(data)
            if self._json_body:
                if self._json is None:
                    self._json = JsonCollector()
                self._json.feed(data)
            elif self._framer is not None and self._skim_probes is not None:
                self._framer.skim(data, *self._skim_probes)
        except Exception as exc:
            self.disable_parsing(exc)

    def disable_parsing(self, exc: BaseException) -> None:
        """The kill switch: stop parsing this body, keep passing bytes, say why on the span.

        Invalid JSON from the server is the server's fault (`error.type` invalid_json); anything
        else is ours (`modelmeter.parse_error`)."""
        if isinstance(exc, orjson.JSONDecodeError):
            self.bad_body = True
            self.parse_error = ""
        else:
            self.parse_error = _said(exc)
        self._framer = None
        self._json = None
        self._decode = None

    # --- the end ---------------------------------------------------------------------------

    def end(self, how: str, exc: BaseException | None = None) -> None:
        """The body ended: `how` is eof | closed | abandoned | error | failed (no response).

        With a recording span, the call is described now and the span ended with its attributes.
        Otherwise the app's thread only notes the end: reading what is left of the body (a JSON
        body whole, the tail of a stream), deciding whether the call failed and describing it are
        done on the spool's thread as it makes the record; a body left over 16 KiB is read here, so
        its bytes can go. Either way the call goes to the spool."""
        if self.done:
            return
        self.done = True
        try:
            ended_at = time.perf_counter()
            if self._listed:
                del _open_streams[id(self)]
            self._how = how
            if exc is not None:
                self._exception = type(exc).__qualname__
            request = self.request
            self._duration_s = duration_s = ended_at - request.began_at
            self.end_ns = self.start_ns + int(duration_s * 1e9)
            span = self.span
            if span is None:
                collected = self._json
                small = (self._json_body or self._framer is not None) and (
                    (collected.size if collected else 0) + sum(map(len, self.batch or ()))
                    <= MAX_DEFERRED_BODY_BYTES
                )
                correlation.ended((request, ended_at, self if small else self.outcome()))
            else:
                correlation.ended((request, ended_at, self.outcome()))
                self.attributes = attributes = self.describe()
                shortcuts.set_own_attributes(span, attributes)
                if self.error_type is not None:
                    span.set_status(Status(StatusCode.ERROR, self.error_type))
                span.end(end_time=self.end_ns)
                self.span = None  # ended: what the app's processors keep is theirs
            if self.submit is not None:
                self.submit(self)
        except Exception:  # the tee calls this from the app's read loop: never raise into it
            log.debug("modelmeter could not end a call", exc_info=True)

    def outcome(self) -> bool:
        """Read what is left of the body (once) and decide `error_type`: True when the call failed."""
        if not self._read:
            self._read = True
            try:
                self._finish_reading(self._how)
                self.error_type = self._error_type()
            except Exception as err:  # never raise into the app; the call is still recorded
                self.parse_error = _said(err)
            finally:
                # the SSE framer holds our bound method: drop it so no cycle keeps this call alive
                # until the next garbage collection
                self._framer = self._json = self._decode = self.batch = None
        return self.error_type is not None

    def describe(self) -> dict[str, Any]:
        """The call's attributes (`describe.describe`, after its place among attempts is settled);
        never raises."""
        try:
            correlation.settle()
            self.outcome()
            answer = Answer(
                self._how,
                self.http_status,
                self.response_headers,
                self.facts,
                self.error_type,
                self.parse_error,
                self._duration_s,
                self.ttft_s,
            )
            return describe(self.request, answer, self.start_ns)
        except Exception as err:
            return {sc.MM_PARSE_ERROR: _said(err)}

    def record_values(self) -> tuple[str, int, int, int | None, int, int, Mapping[str, Any]]:
        """What the spool record is made of: (name, trace id, span id, parent span id, start, end,
        attributes); on the spool's thread, where a call nobody else listened to is described."""
        attributes = self.attributes if self.attributes is not None else self.describe()
        return (
            self.request.span_name(),
            self.trace_id,
            self.span_id,
            self.parent_span_id,
            self.start_ns,
            self.end_ns,
            attributes,
        )

    def _finish_reading(self, how: str) -> None:
        if self.parse_error is not None:
            return
        facts = self.facts
        if self.batch:
            self.skim(self.batch)
        if self.parse_error is not None:
            return
        try:
            if self._framer is not None:
                if how == "eof":
                    self._framer.flush()
                self.family.finish_stream(facts)
            elif self._json is not None and how in ("eof", "closed"):
                self._read_json(self._json)
            read_litellm_headers_if_any(self.response_headers, facts)
        except Exception as exc:
            self.disable_parsing(exc)

    def _read_json(self, collected: JsonCollector) -> None:
        if collected.complete:
            body = collected.body()
            if body:
                self.family.read_json(orjson.loads(body), self.facts)
            return
        head, tail = collected.head_and_tail()
        self.family.read_json(salvage(head, tail), self.facts)

    def _error_type(self) -> str | None:
        """The call's `error.type`, or None when it succeeded: the exception, an HTTP error status,
        an error the body reported (in a 200 or in a stream), or a body that is not valid JSON."""
        if self._exception is not None:
            return self._exception
        status = self.http_status
        if status is not None and status >= 400:
            return str(status)
        if self.facts.error_type:
            return self.facts.error_type
        return "invalid_json" if self.bad_body else None


def _said(err: BaseException) -> str:
    """An exception of our own as `modelmeter.parse_error` gives it: its type and message, cut."""
    return f"{type(err).__name__}: {err}"[:200]


def read_litellm_headers_if_any(headers: Mapping[bytes, bytes], facts: Facts) -> None:
    if b"x-litellm-response-cost" in headers or b"x-litellm-model-api-base" in headers:
        read_litellm_headers({k.decode("latin-1"): v.decode("latin-1") for k, v in headers.items()}, facts)
