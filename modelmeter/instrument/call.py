"""One observed HTTP attempt: classified when the request leaves, read while the app reads the
response, and turned into one GenAI client span when the body ends (consumed, closed, failed or
abandoned), never when the headers arrive.

The span's attributes are gathered in a dict and set once at the end: one validation pass instead
of forty. In the default setup (the spool is the only reader of our spans) the app's thread keeps
the request and response bytes and ends the span; decoding the request, reading a JSON body and
describing the call are done on the spool's thread (see `CallObservation.end`). Every step that
runs in the app's thread is guarded by the shim; a failure in our own parsing turns parsing off for
this call (`modelmeter.parse_error`) and the bytes keep flowing.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import orjson
from opentelemetry.trace import Span, Status, StatusCode

from modelmeter import semconv as sc
from modelmeter.instrument import correlation, pricing
from modelmeter.instrument.naming import canonical
from modelmeter.instrument.providers import Facts, WireFamily
from modelmeter.instrument.providers.gateway_extras import read_litellm_headers
from modelmeter.instrument.request import HeaderItems, RequestFacts, lowered
from modelmeter.instrument.routes import SEMCONV_PROVIDER, VENDOR_PLATFORM, gateway_from_headers, route_of
from modelmeter.instrument.spool_span import SpoolSpan
from modelmeter.instrument.streams import JsonCollector, SSEFramer, decoder_for, split_spaced

log = logging.getLogger("modelmeter")

# a larger JSON response body is read on the app's thread as it ends, not kept for the spool's
# thread (see request.MAX_DEFERRED_REQUEST_BYTES)
MAX_DEFERRED_BODY_BYTES = 16 << 10

_REQUEST_ID_HEADERS = (
    b"x-request-id",
    b"request-id",
    b"mistral-correlation-id",
    b"x-vercel-id",
    b"apim-request-id",
    b"x-litellm-call-id",
    b"cf-aig-log-id",
)
# API vendor kind -> the model vendor to assume when the model name does not tell
_DEFAULT_MODEL_VENDOR = {
    "openai": "openai",
    "azure": "openai",
    "anthropic": "anthropic",
    "gemini": "google",
    "google": "google",
    "vertex": "google",
    "mistral": "mistral",
    "cohere": "cohere",
    "deepseek": "deepseek",
    "xai": "xai",
}
_FAMILY_PROVIDER = {
    "anthropic.messages": "anthropic",
    "gemini": "gcp.gemini",
    "cohere.v2": "cohere",
    "mistral.chat": "mistral_ai",
}


# streams whose body has not ended: at exit they are ended as abandoned (`end_open_streams`)
_open_streams: dict[int, CallObservation] = {}


def end_open_streams() -> None:
    """End every stream still open (the app exits with a stream it never closed), so it is recorded."""
    for observation in list(_open_streams.values()):
        observation.end("abandoned")


class CallObservation:
    """State of one attempt from request to end of body; `end()` emits the span exactly once.

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

    def __init__(self, span: Span, request: RequestFacts, start_ns: int) -> None:
        self.span = span
        self.request = request
        self.family = request.route.family
        self.start_ns = start_ns
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
        """Emit the span: `how` is eof | closed | abandoned | error | failed (no response).

        In the default setup (a `SpoolSpan`) the app's thread only ends the span: reading what is
        left of the body (a JSON body whole, the tail of a stream), deciding whether the call failed
        and describing it (naming, usage, price, headers) are done on the spool's thread, which
        makes the record; a body left over 16 KiB is read here, so its bytes can go. With an SDK
        span all is done here: its processors read the attributes as it ends."""
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
            end_ns = self.start_ns + int(duration_s * 1e9)
            span = self.span
            if type(span) is SpoolSpan:
                # what is left of a body (a JSON body whole, a stream's collected tail) is read
                # where the record is made when it is small; otherwise now, so it can be let go
                collected = self._json
                small = (self._json_body or self._framer is not None) and (
                    (collected.size if collected else 0) + sum(map(len, self.batch or ()))
                    <= MAX_DEFERRED_BODY_BYTES
                )
                correlation.ended((request, ended_at, self if small else self.outcome()))
                span.end(end_ns, self)
                return
            correlation.ended((request, ended_at, self.outcome()))
            set_attributes_unchecked(span, self._attributes())
            if self.error_type is not None:
                span.set_status(Status(StatusCode.ERROR, self.error_type))
            span.end(end_time=end_ns)
        except Exception:  # the tee calls this from the app's read loop: never raise into it
            log.debug("modelmeter could not end a call", exc_info=True)

    def outcome(self) -> bool:
        """Read what is left of the body (once) and decide `error_type`: True when the call failed."""
        if not self._read:
            self._read = True
            try:
                self._finish_reading(self._how)
                self.error_type = self._error_type()
            except Exception as err:  # never raise into the app; the span still ends
                self.parse_error = _said(err)
            finally:
                # the SSE framer holds our bound method: drop it so no cycle keeps this call (and
                # its span) alive until the next garbage collection
                self._framer = self._json = self._decode = self.batch = None
        return self.error_type is not None

    def complete(self) -> tuple[str, dict[str, Any]]:
        """The span's final name and its attributes (what a `SpoolSpan` asks on the spool's thread)."""
        attributes = self._attributes()
        return self.request.span_name(), attributes

    def _attributes(self) -> dict[str, Any]:
        """The call's span attributes, request side and response side; never raises."""
        a: dict[str, Any] = {}
        try:
            correlation.settle()
            self.outcome()
            a = self.request.attributes()
            self._describe(a)
        except Exception as err:
            a[sc.MM_PARSE_ERROR] = _said(err)
        return a

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

    def _describe(self, a: dict[str, Any]) -> None:
        """The response side of the call's attributes, added to `a`."""
        how, error_type, duration_s = self._how, self.error_type, self._duration_s
        facts = self.facts
        route = self.request.route
        kind = route.kind
        headers = self.response_headers
        status = self.http_status
        # a host known as a vendor's is direct; any other may be a gateway that names itself in
        # headers or by its own credential (routes.route_of)
        from_headers = None if kind is not None else gateway_from_headers(headers)
        gateway, route_note = route_of(kind, from_headers, a.get(sc.MM_AUTH_KIND))
        if gateway:
            a[sc.MM_ROUTE] = "gateway"
            a[sc.MM_GATEWAY] = gateway
        if route_note:
            a[sc.MM_ROUTE_NOTE] = route_note

        # model naming: the model that answered, else the one asked for
        model = facts.response_model or self.request.model
        platform = _platform(kind, gateway, facts.served_by, a.get(sc.SERVER_ADDRESS))
        vendor = None
        if model:
            vendor, canonical_model = canonical(model, _DEFAULT_MODEL_VENDOR.get(kind or ""))
            a[sc.MM_MODEL] = canonical_model
            if vendor:
                a[sc.MM_PROVIDER] = vendor
        if gateway and vendor:
            a[sc.GEN_AI_PROVIDER_NAME] = SEMCONV_PROVIDER.get(vendor, vendor)
        if platform:
            a[sc.MM_PLATFORM] = platform
        if facts.response_model:
            a[sc.GEN_AI_RESPONSE_MODEL] = facts.response_model
        if facts.response_id:
            a[sc.GEN_AI_RESPONSE_ID] = facts.response_id
        if facts.finish_reason:
            a[sc.MM_FINISH_REASON] = facts.finish_reason
            a[sc.GEN_AI_RESPONSE_FINISH_REASONS] = (facts.finish_reason,)
        if facts.service_tier:
            a[sc.MM_SERVICE_TIER] = facts.service_tier

        # HTTP facts
        if status is not None:
            a[sc.HTTP_RESPONSE_STATUS_CODE] = status
            _header_facts(headers, a)

        # how it ended
        if status is not None and status >= 400 and facts.error_type:
            a[sc.MM_ERROR_CODE] = facts.error_type
        if self.request.streaming:
            complete = facts.terminal or (
                self.family.ENDS_AT_EOF and (how == "eof" or facts.finish_reason is not None)
            )
        else:
            complete = how == "eof"
        truncated = status is not None and status < 400 and not complete
        a[sc.MM_TRUNCATED] = truncated
        if truncated or how != "eof":
            a[sc.MM_END] = how
        if error_type:
            a[sc.ERROR_TYPE] = error_type
        a[sc.MM_STATUS] = "error" if error_type else "ok"
        if self.parse_error:
            a[sc.MM_PARSE_ERROR] = self.parse_error

        # timing
        a[sc.MM_DURATION_MS] = duration_s * 1000.0
        if self.ttft_s is not None:
            a[sc.MM_TTFT_MS] = self.ttft_s * 1000.0
            a[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = self.ttft_s

        # usage and money
        a[sc.MM_USAGE_KNOWN] = facts.usage_known
        if facts.usage_known:
            _usage_attributes(facts, a)
            if model:
                self._price(vendor, platform, model, facts, a)
        elif model:
            a[sc.MM_COST_SOURCE] = "unpriced"
        if facts.reported_cost is not None:
            a[sc.MM_REPORTED_COST_USD] = _money(facts.reported_cost)
            source = facts.reported_cost_source or "reported"
            a[sc.MM_REPORTED_COST_SOURCE] = f"{gateway}.{source}" if gateway else source
        if facts.extras:
            a.update(facts.extras)
        if facts.gateway_attempts:
            a[sc.MM_GATEWAY_ATTEMPTS] = orjson.dumps(facts.gateway_attempts).decode()
            first = facts.gateway_attempts[0].get("provider")
            if isinstance(first, str):
                a[sc.MM_GATEWAY_FIRST_CHOICE] = first
        if facts.output_parts and self.request.capture_max:
            a[sc.GEN_AI_OUTPUT_MESSAGES] = "".join(facts.output_parts)[: self.request.capture_max]

    def _price(
        self, vendor: str | None, platform: str | None, model: str, facts: Facts, a: dict[str, Any]
    ) -> None:
        usage = (
            facts.input_tokens or 0,
            facts.cache_read_tokens or 0,
            facts.cache_write_tokens or 0,
            facts.output_tokens or 0,
        )
        cost = pricing.estimate(vendor, platform, model, usage, self.start_ns)
        if cost is None:
            a[sc.MM_COST_SOURCE] = "unpriced"
            return
        if facts.fees:
            fees, unpriced = pricing.request_fees(vendor, platform, model, facts.fees, self.start_ns)
            if fees:
                cost += fees
                a[sc.MM_COST_FEES_USD] = _money(fees)
            if unpriced:
                a[sc.MM_COST_EXCLUDES] = ",".join(unpriced)
        a[sc.MM_COST_USD] = _money(cost)
        a[sc.MM_COST_SOURCE] = "genai-prices"
        a[sc.GEN_AI_USAGE_COST] = float(cost)
        if facts.compaction:
            share = pricing.estimate(vendor, platform, model, facts.compaction, self.start_ns)
            if share is not None:
                a[sc.MM_COMPACTION_COST_USD] = _money(share)


# --- helpers ----------------------------------------------------------------------------------


def _said(err: BaseException) -> str:
    """An exception of our own as `modelmeter.parse_error` gives it: its type and message, cut."""
    return f"{type(err).__name__}: {err}"[:200]


def set_attributes_unchecked(span: Span, attrs: dict[str, Any]) -> None:
    """Set attributes we built ourselves (all valid OTel types) without the SDK's per-value check.

    The SDK validates each value (about 1 µs apiece, 40 of them per call). When the span is the SDK's
    and no limit could cut anything, we add them to its attribute store directly; otherwise we go
    through the public API.
    """
    if type(span) is SpoolSpan:
        span.add_own_attributes(attrs)
        return
    store = getattr(span, "_attributes", None)
    data = getattr(store, "_dict", None)
    if (
        isinstance(data, dict)
        and getattr(store, "max_value_len", 0) is None
        and not getattr(store, "_immutable", True)
        and (store.maxlen is None or len(data) + len(attrs) <= store.maxlen)  # type: ignore[union-attr]
    ):
        data.update(attrs)
    else:
        span.set_attributes(attrs)


def _money(value: Decimal) -> str:
    """A decimal string without exponent or trailing zeros (money never goes through float)."""
    return format(value.normalize(), "f")


def _platform(kind: str | None, gateway: str | None, served_by: str | None, host: Any) -> str | None:
    if gateway:
        return served_by
    if kind in VENDOR_PLATFORM:
        return VENDOR_PLATFORM[kind][0]
    return host if isinstance(host, str) else None


def provider_name(kind: str | None, family: WireFamily) -> str:
    """gen_ai.provider.name for a direct call (a gateway call is renamed after its model's vendor)."""
    if kind in VENDOR_PLATFORM:
        return VENDOR_PLATFORM[kind][1]
    return _FAMILY_PROVIDER.get(family.NAME, "openai")


def _usage_attributes(facts: Facts, a: dict[str, Any]) -> None:
    if facts.input_tokens is not None:
        a[sc.GEN_AI_USAGE_INPUT_TOKENS] = a[sc.MM_INPUT_TOKENS] = facts.input_tokens
    if facts.output_tokens is not None:
        a[sc.GEN_AI_USAGE_OUTPUT_TOKENS] = a[sc.MM_OUTPUT_TOKENS] = facts.output_tokens
    if facts.cache_read_tokens is not None:
        a[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = a[sc.MM_CACHE_READ_TOKENS] = facts.cache_read_tokens
    if facts.cache_write_tokens is not None:
        a[sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] = a[sc.MM_CACHE_WRITE_TOKENS] = (
            facts.cache_write_tokens
        )
    if facts.reasoning_tokens is not None:
        a[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = a[sc.MM_REASONING_TOKENS] = facts.reasoning_tokens


def _header_facts(headers: Mapping[bytes, bytes], a: dict[str, Any]) -> None:
    """Request id and rate-limit headers (every `*ratelimit*` and `retry-after*` header, as sent)."""
    for name in _REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            a[sc.MM_REQUEST_ID] = value.decode("latin-1")
            break
    for name, value in headers.items():
        if b"ratelimit" in name or name.startswith(b"retry-after"):
            a[sc.MM_RATELIMIT_PREFIX + name.decode("latin-1")] = value.decode("latin-1")


def read_litellm_headers_if_any(headers: Mapping[bytes, bytes], facts: Facts) -> None:
    if b"x-litellm-response-cost" in headers or b"x-litellm-model-api-base" in headers:
        read_litellm_headers({k.decode("latin-1"): v.decode("latin-1") for k, v in headers.items()}, facts)


def salvage(head: bytes, tail: bytes) -> dict[str, Any]:
    """What an over-size JSON body still tells from its ends: top-level model, id and usage.

    Large bodies are embeddings and images, whose usage and model come last; we decode the last
    balanced `"usage": {...}` object and the first string `"model"` / `"id"` values we can find.
    """
    found: dict[str, Any] = {}
    at = tail.rfind(b'"usage"')
    if at >= 0:
        start = tail.find(b"{", at)
        depth = 0
        for i in range(start, len(tail)):
            if tail[i] == 123:
                depth += 1
            elif tail[i] == 125:
                depth -= 1
                if depth == 0:
                    found["usage"] = orjson.loads(tail[start : i + 1])
                    break
    for key in ("model", "id"):
        for part in (tail, head):
            value = _string_value(part, key.encode())
            if value:
                found[key] = value
                break
    return found


def _string_value(data: bytes, key: bytes) -> str | None:
    at = data.rfind(b'"' + key + b'"')
    if at < 0:
        return None
    colon = data.find(b":", at)
    quote = data.find(b'"', colon)
    end = data.find(b'"', quote + 1)
    if colon < 0 or quote < 0 or end < 0 or quote - colon > 3:
        return None
    return data[quote + 1 : end].decode("utf-8", "replace")
