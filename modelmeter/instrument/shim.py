"""The transport patch: every request of `httpx2` and `httpx` passes through `observe_*` below.

We replace `HTTPTransport.handle_request` and `AsyncHTTPTransport.handle_async_request` on the
classes (as opentelemetry-instrumentation-httpx does), so clients created before or after
`instrument()`, inside any SDK, are observed. What was there before is kept and called: if the
OpenTelemetry httpx instrumentor patched first, our wrapper sits outside it and its HTTP span
becomes a child of our GenAI span. `uninstrument()` puts back exactly what it found; if someone
patched on top of us meanwhile, our wrapper stays in their chain but turns into a pass-through.

Non-AI traffic costs a method check, and for POSTs a path-suffix check. For AI requests the
request side is classified here, the response stream is replaced by a tee (`streams.py`), and the
observation (`call.py`) ends the span when the body ends.
"""

from __future__ import annotations

import logging
import operator
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Tracer

from modelmeter import semconv as sc
from modelmeter.instrument import clock, correlation, tags
from modelmeter.instrument.call import CallObservation, provider_name
from modelmeter.instrument.naming import canonical
from modelmeter.instrument.providers import WireFamily, family_for
from modelmeter.instrument.request import RequestFacts, max_tokens_of
from modelmeter.instrument.routes import Endpoint, is_vendor, kind_of
from modelmeter.instrument.streams import tee_classes

log = logging.getLogger("modelmeter")

MAX_PARSED_REQUEST_BYTES = 1 << 20  # larger request bodies are not json-decoded


@dataclass
class ShimConfig:
    """What the hooks need at request time; replaced as a whole by `instrument()`."""

    tracer: Tracer
    endpoints: tuple[Endpoint, ...] = ()
    capture_max: int | None = None  # None: content capture off
    routes: dict[tuple[Any, ...], Route | None] = field(default_factory=dict)  # see `_route`


@dataclass(frozen=True, slots=True)
class Route:
    """What a URL alone tells about a call, worked out once per endpoint (see `_route`)."""

    family: WireFamily
    path: str
    kind: str | None  # vendor or gateway kind of the host, None when unknown
    gateway: str | None
    operation: str
    attrs: dict[str, Any]  # the attributes every call to this endpoint starts with


MAX_CACHED_PATHS = 1024  # distinct paths (AI or not) remembered; more clear the caches


_config: ShimConfig | None = None  # None: the hooks pass everything through
_patched: list[tuple[type, str, Any, Any]] = []  # (class, attribute, original, our wrapper)


def configure(config: ShimConfig | None) -> None:
    global _config
    _config = config


# --- patching ---------------------------------------------------------------------------------


def patch_all() -> list[str]:
    """Patch every installed httpx-family library once; returns the names patched."""
    done = []
    for module_name in ("httpx2", "httpx"):
        try:
            module = __import__(module_name)
        except ImportError:
            continue
        if any(cls is module.HTTPTransport for cls, *_ in _patched):
            done.append(module_name)
            continue
        sync_tee, async_tee = tee_classes(module.SyncByteStream, module.AsyncByteStream)
        _patch(module.HTTPTransport, "handle_request", _sync_wrapper, sync_tee)
        _patch(module.AsyncHTTPTransport, "handle_async_request", _async_wrapper, async_tee)
        done.append(module_name)
    return done


def _patch(cls: type, name: str, make: Callable[[Any, type], Any], tee: type) -> None:
    original = cls.__dict__[name]
    wrapper = make(original, tee)
    wrapper.__modelmeter_original__ = original
    setattr(cls, name, wrapper)
    _patched.append((cls, name, original, wrapper))


def unpatch_all() -> None:
    """Restore each patched attribute that is still ours; a wrapper someone stacked on top of stays
    and calls ours, which passes through once `_config` is None."""
    while _patched:
        cls, name, original, wrapper = _patched.pop()
        if cls.__dict__.get(name) is wrapper:
            setattr(cls, name, original)


def _sync_wrapper(original: Any, tee: type) -> Any:
    def handle_request(self: Any, request: Any) -> Any:
        config = _config
        if config is None or request.method != "POST":
            return original.__get__(self, type(self))(request)
        observation = _begin(config, request, is_async=False)
        if observation is None:
            return original.__get__(self, type(self))(request)
        token = otel_context.attach(trace.set_span_in_context(observation.span))
        try:
            response = original.__get__(self, type(self))(request)
        except BaseException as exc:
            _guarded(observation.end, "failed", exc)
            raise
        finally:
            otel_context.detach(token)
        return _attach(observation, response, tee)

    return handle_request


def _async_wrapper(original: Any, tee: type) -> Any:
    async def handle_async_request(self: Any, request: Any) -> Any:
        config = _config
        if config is None or request.method != "POST":
            return await original.__get__(self, type(self))(request)
        observation = _begin(config, request, is_async=True)
        if observation is None:
            return await original.__get__(self, type(self))(request)
        token = otel_context.attach(trace.set_span_in_context(observation.span))
        try:
            response = await original.__get__(self, type(self))(request)
        except BaseException as exc:
            _guarded(observation.end, "failed", exc)
            raise
        finally:
            otel_context.detach(token)
        return _attach(observation, response, tee)

    return handle_async_request


def _guarded(fn: Callable[..., Any], *args: Any) -> None:
    try:
        fn(*args)
    except Exception:  # the shim never raises into the app
        log.debug("modelmeter hook failed", exc_info=True)


def _attach(observation: CallObservation, response: Any, tee: type) -> Any:
    """Headers are in: tell the observation, and put the tee in front of the body."""
    try:
        observation.on_headers(response.status_code, lowered_headers(response.headers))
        response.stream = tee(response.stream, observation)
    except Exception:
        log.debug("modelmeter could not observe a response", exc_info=True)
        _guarded(observation.end, "closed")
    return response


# --- the request side -------------------------------------------------------------------------


def _begin(config: ShimConfig, request: Any, *, is_async: bool) -> CallObservation | None:
    """Classify a POST; None when it is not an AI call or anything about it fails."""
    try:
        route = _route(config, request.url)
        if route is None:
            return None
        return _observe(config, request, route, is_async)
    except Exception:
        log.debug("modelmeter could not classify a request", exc_info=True)
        return None


_UNKNOWN: Any = object()


def _route(config: ShimConfig, url: Any) -> Route | None:
    """The endpoint's route (None: not an AI call), cached per (scheme, host, port, path) on the
    config, whose `endpoints` it depends on: the URL is classified once per endpoint. The key is
    read from the URL's parsed form, which httpx and httpx2 keep (the public properties re-derive
    each part on every access)."""
    parts = getattr(url, "_uri_reference", url)
    key = (parts.scheme, parts.host, parts.port, parts.path)
    route = config.routes.get(key, _UNKNOWN)
    if route is _UNKNOWN:
        if len(config.routes) >= MAX_CACHED_PATHS:
            config.routes.clear()
        route = config.routes[key] = _classify(config, url)
    return route


def _classify(config: ShimConfig, url: Any) -> Route | None:
    scheme, host, port, path = url.scheme, url.host, url.port, url.path
    family = family_for(path)
    if family is None:
        return None
    kind = kind_of(scheme, host, port, path, config.endpoints)
    gateway = None if kind is None or is_vendor(kind) else kind
    operation = family.operation(path)
    attrs: dict[str, Any] = {
        sc.GEN_AI_OPERATION_NAME: operation,
        sc.GEN_AI_PROVIDER_NAME: provider_name(None if gateway else kind, family),
        sc.MM_WIRE_FAMILY: family.NAME,
        sc.MM_ROUTE: "gateway" if gateway else "direct",
        sc.SERVER_ADDRESS: host,
    }
    if port is not None:
        attrs[sc.SERVER_PORT] = port
    if gateway:
        attrs[sc.MM_GATEWAY] = gateway
    return Route(family, path, kind, gateway, operation, attrs)


def _observe(config: ShimConfig, request: Any, route: Route, is_async: bool) -> CallObservation:
    """Read what must be read as the request leaves (the rest of its description waits for the end
    of the call: `RequestFacts.attributes`) and start the span."""
    t0 = time.perf_counter()
    start_ns = clock.now_ns()
    family = route.family
    body_bytes = _request_body(request)
    body = _decode_body(body_bytes)
    path = route.path
    request_model = family.request_model(path, body)
    headers = lowered_headers(request.headers)
    serial, tag_attributes = tags.current_attributes()

    retry_header = headers.get(b"x-stainless-retry-count")
    sdk_retry = int(retry_header) if retry_header and retry_header.isdigit() else None
    scope = correlation.scope_key(is_async, serial)
    requested = canonical(request_model, None)[1] if request_model else None
    call_id, attempt, fallback_from = correlation.begin(scope, body_key(body_bytes), requested, sdk_retry)

    facts = RequestFacts(
        route.attrs,
        route.kind,
        route.gateway,
        headers,
        request_model,
        family.streaming(path, body),
        tag_attributes,
        scope,
        call_id,
        attempt,
    )
    if fallback_from:
        facts.fallback_from = fallback_from
    if body:
        max_tokens = max_tokens_of(body)
        if max_tokens is not None:
            facts.max_tokens = max_tokens
        if config.capture_max:
            facts.capture_input(body, config.capture_max)
    if family.NAME == "gemini":
        facts.query_key = request.url.params.get("key")

    span = config.tracer.start_span(
        f"{route.operation} {request_model}" if request_model else route.operation,
        kind=SpanKind.CLIENT,
        start_time=start_ns,
    )
    return CallObservation(span, family, facts, t0, start_ns, config.capture_max)


def lowered_headers(headers: Any) -> dict[bytes, bytes]:
    """Header names lower-cased -> values, as bytes. httpx and httpx2 keep the lower-cased name in
    their private `_list`; reading it directly avoids re-lowering every name on every request."""
    items = getattr(headers, "_list", None)
    if isinstance(items, list) and (not items or len(items[0]) == 3):
        return dict(zip(map(_LOWER, items), map(_VALUE, items), strict=True))  # C-level, no Python loop
    return {k.lower(): v for k, v in headers.raw}


_LOWER, _VALUE = operator.itemgetter(1), operator.itemgetter(2)


_BODY_SAMPLE = 4096


def body_key(body: bytes) -> int:
    """What tells a retry's body from another request's (correlation.py): the hash of the whole body
    up to 16 KiB; past that, of its length and 4 KiB from its start, middle and end. Hashing a body
    whole costs about 0.3 µs per KiB (65 µs for a 200 KB prompt), on the app's thread."""
    size = len(body)
    if size <= 4 * _BODY_SAMPLE:
        return hash(body)
    middle = size // 2 - _BODY_SAMPLE // 2
    return hash((size, body[:_BODY_SAMPLE], body[middle : middle + _BODY_SAMPLE], body[-_BODY_SAMPLE:]))


def _request_body(request: Any) -> bytes:
    try:
        content = request.content
    except Exception:  # a streaming request body the client has not read: nothing to look at
        return b""
    return content if isinstance(content, bytes) else b""


def _decode_body(body: bytes) -> dict[str, Any] | None:
    if not body or body[:1] != b"{":
        return None
    if len(body) > MAX_PARSED_REQUEST_BYTES:
        return _sniff_large_body(body)
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return decoded if isinstance(decoded, dict) else None


_MODEL_FIELD = re.compile(rb'"model"\s*:\s*"([^"\\]{1,200})"')
_STREAM_FIELD = re.compile(rb'"stream"\s*:\s*true')


def _sniff_large_body(body: bytes) -> dict[str, Any]:
    """`model` and `stream` of a request too large to decode (big prompts, inline images): SDKs
    write these small fields before or after the prompt, so look at both ends only."""
    found: dict[str, Any] = {}
    for window in (body[-4096:], body[:4096]):
        if "model" not in found and (match := _MODEL_FIELD.search(window)):
            found["model"] = match.group(1).decode("utf-8", "replace")
        if _STREAM_FIELD.search(window):
            found["stream"] = True
    return found
