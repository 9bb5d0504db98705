"""The transport patch: every request of `httpx2` and `httpx` passes through the wrappers below.

We replace `HTTPTransport.handle_request` and `AsyncHTTPTransport.handle_async_request` on the
classes (as opentelemetry-instrumentation-httpx does), so clients created before or after
`instrument()`, inside any SDK, are observed. What was there before is kept and called: if the
OpenTelemetry httpx instrumentor patched first, our wrapper sits outside it and its HTTP span
becomes a child of our GenAI span. `uninstrument()` puts back exactly what it found; if someone
patched on top of us meanwhile, our wrapper stays in their chain but turns into a pass-through.

Non-AI traffic costs a method check, and for POSTs a route lookup. For AI requests the request
side is classified here, the response stream is replaced by a tee (`streams.py`), and the
observation (`call.py`) ends the span when the body ends. Our span is the current span while the
request runs whenever code beneath our wrapper could read it (see `_begin`); the OpenTelemetry
context is set through its ContextVar directly (`current.py`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from threading import get_ident
from types import FunctionType
from typing import Any

from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Tracer

from modelmeter import semconv as sc
from modelmeter.instrument import clock, correlation, current, tags
from modelmeter.instrument.call import CallObservation, provider_name
from modelmeter.instrument.providers import family_for
from modelmeter.instrument.request import (
    MAX_DEFERRED_REQUEST_BYTES,
    RequestFacts,
    Route,
    header_items_reader,
)
from modelmeter.instrument.routes import Endpoint, is_vendor, kind_of
from modelmeter.instrument.spool_span import SpoolTracer
from modelmeter.instrument.streams import tee_classes

log = logging.getLogger("modelmeter")


@dataclass
class ShimConfig:
    """What the hooks need at request time; replaced as a whole by `instrument()`."""

    tracer: Tracer
    endpoints: tuple[Endpoint, ...] = ()
    capture_max: int | None = None  # None: content capture off
    # `tracer` when it makes `SpoolSpan`s: a call's description can wait for the spool's thread
    spool_tracer: SpoolTracer | None = None
    routes: dict[tuple[Any, ...], Route | None] = field(default_factory=dict)  # see `_begin`


MAX_CACHED_PATHS = 1024  # distinct paths (AI or not) remembered; more clear the caches


ItemsOf = Callable[[Any], Sequence[tuple[bytes, bytes, bytes]]]  # a library's headers as triples
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
        items_of = header_items_reader(module.Headers)
        _patch(module.HTTPTransport, "handle_request", _sync_wrapper, sync_tee, items_of)
        _patch(module.AsyncHTTPTransport, "handle_async_request", _async_wrapper, async_tee, items_of)
        done.append(module_name)
    return done


def _patch(cls: type, name: str, make: Callable[..., Any], tee: type, items_of: ItemsOf) -> None:
    original = cls.__dict__[name]
    wrapper = make(_unbound(original), tee, items_of)
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


def _sync_wrapper(original: Callable[[Any, Any], Any], tee: type, items_of: ItemsOf) -> Any:
    alone = _runs_alone(original)

    def handle_request(self: Any, request: Any) -> Any:
        config = _config
        if config is None or request.method != "POST":
            return original(self, request)
        begun = _begin(config, request, items_of, alone, is_async=False)
        if begun is None:
            return original(self, request)
        observation, context = begun
        token = current.set(context) if context is not None else None
        try:
            response = original(self, request)
        except BaseException as exc:
            _guarded(observation.end, "failed", exc)
            raise
        finally:
            if token is not None:
                _guarded(current.reset, token)
        return _attach(observation, response, tee, items_of)

    return handle_request


def _async_wrapper(original: Callable[[Any, Any], Any], tee: type, items_of: ItemsOf) -> Any:
    alone = _runs_alone(original)

    async def handle_async_request(self: Any, request: Any) -> Any:
        config = _config
        if config is None or request.method != "POST":
            return await original(self, request)
        begun = _begin(config, request, items_of, alone, is_async=True)
        if begun is None:
            return await original(self, request)
        observation, context = begun
        token = current.set(context) if context is not None else None
        try:
            response = await original(self, request)
        except BaseException as exc:
            _guarded(observation.end, "failed", exc)
            raise
        finally:
            if token is not None:
                _guarded(current.reset, token)
        return _attach(observation, response, tee, items_of)

    return handle_async_request


def _guarded(fn: Callable[..., Any], *args: Any) -> None:
    try:
        fn(*args)
    except Exception:  # the shim never raises into the app
        log.debug("modelmeter hook failed", exc_info=True)


def _attach(observation: CallObservation, response: Any, tee: type, items_of: ItemsOf) -> Any:
    """Headers are in: tell the observation, and put the tee in front of the body."""
    try:
        observation.on_headers(response.status_code, tuple(items_of(response.headers)))
        response.stream = tee(response.stream, observation)
    except Exception:
        log.debug("modelmeter could not observe a response", exc_info=True)
        _guarded(observation.end, "closed")
    return response


# --- the request side -------------------------------------------------------------------------


def _begin(
    config: ShimConfig, request: Any, items_of: ItemsOf, alone: bool, *, is_async: bool
) -> tuple[CallObservation, Context | None] | None:
    """Classify a POST and, for an AI call, keep what must be kept as the request leaves and start
    the span; returns the observation and the OpenTelemetry context to run the request in (the span
    current), or None when it is not an AI call or anything about it fails.

    The context is None when no one could look at it: the span is a `SpoolSpan`, which only the
    spool reads, and the method we wrap is the library's own (`alone`), so no instrumentation sits
    beneath us to make its span our span's child. Otherwise (the OpenTelemetry httpx instrumentor
    patched first, say) our span is current while the request runs.

    Routes are cached per (scheme, host, port, path) on the config, whose `endpoints` they depend
    on: a URL is classified once per endpoint. The key is read from the URL's parsed form, which
    httpx and httpx2 keep (the public properties re-derive each part on every access). Reading the
    body waits (`RequestFacts.read`) when the span is one whose record is made on the spool's
    thread. One function, because on the app's thread every call counts."""
    try:
        url = request.url
        parts = getattr(url, "_uri_reference", url)
        key = (parts.scheme, parts.host, parts.port, parts.path)
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
        parent = current.get()
        spool_tracer = config.spool_tracer
        if spool_tracer is not None:  # the name and the rest wait for the spool's thread
            if len(body) > MAX_DEFERRED_REQUEST_BYTES:
                facts.read()  # now, so the large body's bytes need not wait
            span = spool_tracer.start_child(
                route.operation, current.parent_of(parent), SpanKind.CLIENT, start_ns
            )
        else:
            span = config.tracer.start_span(
                facts.span_name(), parent, kind=SpanKind.CLIENT, start_time=start_ns
            )
        correlation.began(facts)
        context = None if alone and spool_tracer is not None else current.with_span(parent, span)
        return CallObservation(span, facts, start_ns), context
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
