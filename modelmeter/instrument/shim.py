"""The HTTP patch: every request of `httpx2` and `httpx` clients passes through the wrappers below.

Two seams, each call observed at exactly one of them:
- the transports: `HTTPTransport.handle_request` and `AsyncHTTPTransport.handle_async_request`
  replaced on the classes (as opentelemetry-instrumentation-httpx does), so clients created before
  or after `instrument()`, inside any SDK, are observed. What was there before is kept and called:
  if the OpenTelemetry httpx instrumentor patched first, our wrapper sits outside it and its HTTP
  span becomes a child of our GenAI span.
- the clients: `Client` / `AsyncClient`'s per-request send, for a request whose transport is not one
  of those two (the SDKs' aiohttp client `DefaultAioHttpClient`, `MockTransport`, a company's own
  transport, a subclass that overrides the method). While it runs, a transport wrapper beneath it
  passes the request through (`_seen`), so a call is counted once.
`uninstrument()` puts back exactly what it found; if someone patched on top of us meanwhile, our
wrapper stays in their chain but turns into a pass-through.

Non-AI traffic costs a method check, and for POSTs a route lookup. For AI requests the request side
is kept here, the response stream is replaced by a tee (`streams.py`), and the observation
(`call.py`) ends the call when the body ends.
"""

from __future__ import annotations

import contextvars
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from threading import get_ident
from types import FunctionType
from typing import Any

from opentelemetry.context import Context
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags, Tracer, TraceState

from modelmeter import semconv as sc
from modelmeter.instrument import clock, correlation, shortcuts, tags
from modelmeter.instrument.call import CallObservation, Submit
from modelmeter.instrument.describe import provider_name
from modelmeter.instrument.providers import family_for
from modelmeter.instrument.request import MAX_DEFERRED_REQUEST_BYTES, RequestFacts, Route
from modelmeter.instrument.routes import Endpoint, is_vendor, kind_of
from modelmeter.instrument.streams import tee_classes

log = logging.getLogger("modelmeter")

_SAMPLED_NEW_TRACE = TraceFlags(TraceFlags.SAMPLED | TraceFlags.RANDOM_TRACE_ID)
_EMPTY_STATE = TraceState()


@dataclass
class ShimConfig:
    """What the hooks need at request time; replaced as a whole by `instrument()`."""

    tracer: Tracer | None  # None: no one listens to spans, only the record is made
    submit: Submit | None  # where ended calls go (the spool); None: no spool
    endpoints: tuple[Endpoint, ...] = ()
    capture_max: int | None = None  # None: content capture off
    routes: dict[tuple[Any, ...], Route | None] = field(default_factory=dict)  # see `_begin`


MAX_CACHED_PATHS = 1024  # distinct paths (AI or not) remembered; more clear the caches


ItemsOf = Callable[[Any], Sequence[tuple[bytes, bytes, bytes]]]  # a library's headers as triples
_config: ShimConfig | None = None  # None: the hooks pass everything through
_patched: list[tuple[type, str, Any, Any]] = []  # (class, attribute, original, our wrapper)
# set while a client-level wrapper observes a request: transport wrappers beneath pass it through
_seen: contextvars.ContextVar[bool] = contextvars.ContextVar("modelmeter_seen", default=False)
_is_seen = _seen.get


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
        items_of = shortcuts.header_items_reader(module.Headers)
        _patch(module.HTTPTransport, "handle_request", _sync_wrapper(sync_tee, items_of))
        _patch(module.AsyncHTTPTransport, "handle_async_request", _async_wrapper(async_tee, items_of))
        for cls, method, transport_method, make in (
            (module.Client, shortcuts.CLIENT_SEND, "handle_request", _sync_client_wrapper),
            (module.AsyncClient, shortcuts.CLIENT_SEND, "handle_async_request", _async_client_wrapper),
        ):
            if method in cls.__dict__:
                tee = sync_tee if make is _sync_client_wrapper else async_tee
                _patch(cls, method, make(tee, items_of, transport_method))
        done.append(module_name)
    return done


def _patch(cls: type, name: str, make: Callable[[Callable[[Any, Any], Any], bool], Any]) -> None:
    original = cls.__dict__[name]
    wrapper = make(_unbound(original), _runs_alone(original))
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


def _unbound(original: Any) -> Callable[[Any, Any], Any]:
    """`original` as a function of (transport, request): a plain function already is one; anything
    else someone patched in before us (a wrapt wrapper, say, which passes isinstance checks as the
    function it wraps) is bound to the transport first."""
    if type(original) is FunctionType:
        return original
    return lambda transport, request: original.__get__(transport, type(transport))(request)


def _runs_alone(original: Callable[[Any, Any], Any]) -> bool:
    """Whether `original` is the HTTP library's own transport method: then only the library's
    connection code runs while the request goes out, and nothing there reads the current span."""
    return type(original) is FunctionType and original.__module__.partition(".")[0] in ("httpx", "httpx2")


# --- the wrappers -----------------------------------------------------------------------------
# One sync and one async body per seam, written out: on the app's thread every call counts.


def _sync_wrapper(tee: type, items_of: ItemsOf) -> Callable[..., Any]:
    def make(original: Callable[[Any, Any], Any], alone: bool) -> Any:
        def handle_request(self: Any, request: Any) -> Any:
            config = _config
            if config is None or request.method != "POST" or _is_seen():
                return original(self, request)
            begun = _begin(config, request, items_of, alone, is_async=False)
            if begun is None:
                return original(self, request)
            observation, context = begun
            token = shortcuts.set(context) if context is not None else None
            try:
                response = original(self, request)
            except BaseException as exc:
                _guarded(observation.end, "failed", exc)
                raise
            finally:
                if token is not None:
                    _guarded(shortcuts.reset, token)
            return _attach(observation, response, tee, items_of)

        return handle_request

    return make


def _async_wrapper(tee: type, items_of: ItemsOf) -> Callable[..., Any]:
    def make(original: Callable[[Any, Any], Any], alone: bool) -> Any:
        async def handle_async_request(self: Any, request: Any) -> Any:
            config = _config
            if config is None or request.method != "POST" or _is_seen():
                return await original(self, request)
            begun = _begin(config, request, items_of, alone, is_async=True)
            if begun is None:
                return await original(self, request)
            observation, context = begun
            token = shortcuts.set(context) if context is not None else None
            try:
                response = await original(self, request)
            except BaseException as exc:
                _guarded(observation.end, "failed", exc)
                raise
            finally:
                if token is not None:
                    _guarded(shortcuts.reset, token)
            return _attach(observation, response, tee, items_of)

        return handle_async_request

    return make


def _transport_observes(client: Any, request: Any, transport_method: str) -> bool:
    """Whether the transport this client sends `request` through has our wrapper (then the
    transport seam observes it); True when that cannot be told, so nothing is counted twice."""
    try:
        transport = shortcuts.transport_for(client, request.url)
        return hasattr(getattr(type(transport), transport_method, None), "__modelmeter_original__")
    except Exception:
        return True


def _sync_client_wrapper(tee: type, items_of: ItemsOf, transport_method: str) -> Callable[..., Any]:
    def make(original: Callable[[Any, Any], Any], alone: bool) -> Any:
        def send_single_request(self: Any, request: Any) -> Any:
            config = _config
            if (
                config is None
                or request.method != "POST"
                or _is_seen()
                or _transport_observes(self, request, transport_method)
            ):
                return original(self, request)
            begun = _begin(config, request, items_of, False, is_async=False)
            if begun is None:
                return original(self, request)
            observation, context = begun
            token = shortcuts.set(context) if context is not None else None
            seen = _seen.set(True)
            try:
                response = original(self, request)
            except BaseException as exc:
                _guarded(observation.end, "failed", exc)
                raise
            finally:
                _guarded(_seen.reset, seen)
                if token is not None:
                    _guarded(shortcuts.reset, token)
            return _attach(observation, response, tee, items_of, whole=True)

        return send_single_request

    return make


def _async_client_wrapper(tee: type, items_of: ItemsOf, transport_method: str) -> Callable[..., Any]:
    def make(original: Callable[[Any, Any], Any], alone: bool) -> Any:
        async def send_single_request(self: Any, request: Any) -> Any:
            config = _config
            if (
                config is None
                or request.method != "POST"
                or _is_seen()
                or _transport_observes(self, request, transport_method)
            ):
                return await original(self, request)
            begun = _begin(config, request, items_of, False, is_async=True)
            if begun is None:
                return await original(self, request)
            observation, context = begun
            token = shortcuts.set(context) if context is not None else None
            seen = _seen.set(True)
            try:
                response = await original(self, request)
            except BaseException as exc:
                _guarded(observation.end, "failed", exc)
                raise
            finally:
                _guarded(_seen.reset, seen)
                if token is not None:
                    _guarded(shortcuts.reset, token)
            return _attach(observation, response, tee, items_of, whole=True)

        return send_single_request

    return make


def _guarded(fn: Callable[..., Any], *args: Any) -> None:
    try:
        fn(*args)
    except Exception:  # the shim never raises into the app
        log.debug("modelmeter hook failed", exc_info=True)


def _attach(
    observation: CallObservation, response: Any, tee: type, items_of: ItemsOf, whole: bool = False
) -> Any:
    """Headers are in: tell the observation, and put the tee in front of the body. With `whole`
    (the client seam), a response its transport made with the body already in memory (a
    `MockTransport`'s, say: the client will never read its stream) is read at once."""
    try:
        observation.on_headers(response.status_code, tuple(items_of(response.headers)))
        body = shortcuts.body_in_memory(response) if whole else None
        if body is not None:
            _read_whole(observation, body)
            return response
        response.stream = tee(response.stream, observation)
    except Exception:
        log.debug("modelmeter could not observe a response", exc_info=True)
        _guarded(observation.end, "closed")
    return response


def _read_whole(observation: CallObservation, body: bytes) -> None:
    if observation.batch is not None:
        observation.batch.append(body)
    else:
        observation.feed(body)
    observation.end("eof")


# --- the request side -------------------------------------------------------------------------


def _begin(
    config: ShimConfig, request: Any, items_of: ItemsOf, alone: bool, *, is_async: bool
) -> tuple[CallObservation, Context | None] | None:
    """Classify a POST and, for an AI call, keep what must be kept as the request leaves; returns
    the observation and the OpenTelemetry context to run the request in, or None when it is not an
    AI call or anything about it fails.

    The call's ids: its span's when someone listens (the app's sampler decides whether that span
    records; its ids are the call's either way), else drawn here in the current trace (a new one
    when there is none). The context is None when nothing beneath our wrapper could read it (`alone`:
    the library's own method); otherwise our span, or a non-recording span with the call's ids, is
    current while the request runs, so an instrumentation beneath (the OpenTelemetry httpx
    instrumentor patched first, a custom transport) makes its span our child.

    Routes are cached per (scheme, host, port, path) on the config, whose `endpoints` they depend
    on: a URL is classified once per endpoint. Reading the body waits for the spool's thread unless a
    recording span needs the call's name now. One function, because on the app's thread every
    call counts."""
    try:
        url = request.url
        key = shortcuts.url_parts(url)
        route = config.routes.get(key, _UNKNOWN)
        if route is _UNKNOWN:
            if len(config.routes) >= MAX_CACHED_PATHS:
                config.routes.clear()
            route = config.routes[key] = _classify(config, url)
        if route is None:
            return None
        t0 = time.perf_counter()
        start_ns = clock.now_ns()
        try:
            body = request.content
        except Exception:  # a streaming request body the client has not read: nothing to look at
            body = b""
        if not isinstance(body, bytes):
            body = b""
        facts = RequestFacts(
            route,
            tuple(items_of(request.headers)),  # a copy: an SDK may change them and send it again
            body,
            tags.current_scope(),
            correlation.task_owner() if is_async else get_ident(),
            t0,
            config.capture_max,
        )
        if route.family.NAME == "gemini":
            facts.query_key = url.params.get("key")
        parent = shortcuts.get()
        parent_span = shortcuts.parent_of(parent)
        tracer = config.tracer
        span: Any = None
        if tracer is not None:
            span = tracer.start_span(facts.span_name(), parent, kind=SpanKind.CLIENT, start_time=start_ns)
            made = span.get_span_context()
            if not made.is_valid:  # a tracer that makes no spans (a disabled SDK, say)
                span = None
        if span is None:
            span_id = random.getrandbits(64)
            if parent_span is None:
                trace_id, flags, state = random.getrandbits(128), _SAMPLED_NEW_TRACE, _EMPTY_STATE
            else:
                trace_id, flags = parent_span.trace_id, parent_span.trace_flags
                state = parent_span.trace_state
            observation = CallObservation(facts, start_ns, trace_id, span_id, config.submit)
            context = (
                None
                if alone
                else shortcuts.with_span(
                    parent, NonRecordingSpan(SpanContext(trace_id, span_id, False, flags, state))
                )
            )
        else:
            observation = CallObservation(facts, start_ns, made.trace_id, made.span_id, config.submit)
            if span.is_recording():
                observation.span = span
            context = None if alone else shortcuts.with_span(parent, span)
        if observation.span is None and len(body) > MAX_DEFERRED_REQUEST_BYTES:
            facts.read()  # now, so the large body's bytes need not wait for the spool's thread
        if parent_span is not None:
            observation.parent_span_id = parent_span.span_id
        correlation.began(facts)
        return observation, context
    except Exception:
        log.debug("modelmeter could not observe a request", exc_info=True)
        return None


_UNKNOWN: Any = object()


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
