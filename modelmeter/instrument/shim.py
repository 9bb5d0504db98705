"""The HTTP patch: every request of `httpx2`, `httpx` and `aiohttp` clients passes through the
wrappers below.

Three seams, each call observed at exactly one of them:
- the transports: `HTTPTransport.handle_request` and `AsyncHTTPTransport.handle_async_request`
  replaced on the classes (as opentelemetry-instrumentation-httpx does), so clients created before
  or after `instrument()`, inside any SDK, are observed. What was there before is kept and called:
  if the OpenTelemetry httpx instrumentor patched first, our wrapper sits outside it and its HTTP
  span becomes a child of our GenAI span.
- the clients: `Client` / `AsyncClient`'s per-request send, for a request whose transport is not one
  of those two (the SDKs' aiohttp client `DefaultAioHttpClient`, `MockTransport`, a company's own
  transport, a subclass that overrides the method). While it runs, a transport wrapper beneath it
  passes the request through (`_seen`), so a call is counted once.
- aiohttp's session (`ClientSession._request`), for code that calls aiohttp itself (google-genai's
  async client whenever aiohttp is installed); the SDKs' aiohttp clients for httpx reach it beneath
  the client seam, which marks the call `_seen`. The response's `content` reader is replaced by a
  pass-through tee (`streams.AiohttpContentTee`).
`uninstrument()` puts back exactly what it found; if someone patched on top of us meanwhile, our
wrapper stays in their chain but turns into a pass-through.

Non-AI traffic costs a method check, and for POSTs a route lookup. For AI requests the request side
is kept here, the response stream is replaced by a tee (`streams.py`), and the observation
(`call.py`) ends the call when the body ends.
"""

from __future__ import annotations

import contextvars
import importlib.abc
import importlib.util
import logging
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from threading import get_ident
from types import FunctionType
from typing import Any

import orjson
from opentelemetry.context import Context
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags, Tracer, TraceState

from modelmeter import semconv as sc
from modelmeter.instrument import clock, correlation, shortcuts, tags
from modelmeter.instrument.call import CallObservation, Submit
from modelmeter.instrument.describe import provider_name
from modelmeter.instrument.providers import family_for
from modelmeter.instrument.request import MAX_DEFERRED_REQUEST_BYTES, RequestFacts, Route
from modelmeter.instrument.routes import Endpoint, is_vendor, kind_of
from modelmeter.instrument.streams import AiohttpContentTee, tee_classes

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
        if shortcuts.CLIENT_SEND in module.Client.__dict__:
            client_sync = _sync_wrapper(sync_tee, items_of, "handle_request")
            _patch(module.Client, shortcuts.CLIENT_SEND, client_sync)
        if shortcuts.CLIENT_SEND in module.AsyncClient.__dict__:
            client_async = _async_wrapper(async_tee, items_of, "handle_async_request")
            _patch(module.AsyncClient, shortcuts.CLIENT_SEND, client_async)
        done.append(module_name)
    if _patch_aiohttp():
        done.append("aiohttp")
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
    _unwatch_imports()
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
# One sync and one async body, written out: on the app's thread every call counts. `client_seam` is
# None at a transport; at a client, it names the transport method whose wrapper would see the call.


def _sync_wrapper(tee: type, items_of: ItemsOf, client_seam: str | None = None) -> Callable[..., Any]:
    at_client = client_seam is not None

    def make(original: Callable[[Any, Any], Any], alone: bool) -> Any:
        alone = alone and not at_client  # beneath a client's send runs a transport that may read it

        def observed(self: Any, request: Any) -> Any:
            config = _config
            if (
                config is None
                or request.method != "POST"
                or _is_seen()
                or (at_client and _transport_observes(self, request, client_seam))
            ):
                return original(self, request)
            begun = _begin(config, request, items_of, alone, is_async=False)
            if begun is None:
                return original(self, request)
            observation, context = begun
            token = shortcuts.set(context) if context is not None else None
            seen = _seen.set(True) if at_client else None
            try:
                response = original(self, request)
            except BaseException as exc:
                _guarded(observation.end, "failed", exc)
                raise
            finally:
                if seen is not None:
                    _guarded(_seen.reset, seen)
                if token is not None:
                    _guarded(shortcuts.reset, token)
            return _attach(observation, response, tee, items_of, at_client)

        return observed

    return make


def _async_wrapper(tee: type, items_of: ItemsOf, client_seam: str | None = None) -> Callable[..., Any]:
    at_client = client_seam is not None

    def make(original: Callable[[Any, Any], Any], alone: bool) -> Any:
        alone = alone and not at_client

        async def observed(self: Any, request: Any) -> Any:
            config = _config
            if (
                config is None
                or request.method != "POST"
                or _is_seen()
                or (at_client and _transport_observes(self, request, client_seam))
            ):
                return await original(self, request)
            begun = _begin(config, request, items_of, alone, is_async=True)
            if begun is None:
                return await original(self, request)
            observation, context = begun
            token = shortcuts.set(context) if context is not None else None
            seen = _seen.set(True) if at_client else None
            try:
                response = await original(self, request)
            except BaseException as exc:
                _guarded(observation.end, "failed", exc)
                raise
            finally:
                if seen is not None:
                    _guarded(_seen.reset, seen)
                if token is not None:
                    _guarded(shortcuts.reset, token)
            return _attach(observation, response, tee, items_of, at_client)

        return observed

    return make


def _transport_observes(client: Any, request: Any, transport_method: str | None) -> bool:
    """Whether the transport this client sends `request` through has our wrapper (then the
    transport seam observes it); True when that cannot be told, so nothing is counted twice."""
    try:
        transport = shortcuts.transport_for(client, request.url)
        return hasattr(getattr(type(transport), transport_method or "", None), "__modelmeter_original__")
    except Exception:
        return True


def _guarded(fn: Callable[..., Any], *args: Any) -> None:
    try:
        fn(*args)
    except Exception:  # the shim never raises into the app
        log.debug("modelmeter hook failed", exc_info=True)


def _attach(observation: CallObservation, response: Any, tee: type, items_of: ItemsOf, whole: bool) -> Any:
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


# --- aiohttp ------------------------------------------------------------------------------------
# A client that calls aiohttp itself (google-genai's async client whenever aiohttp is installed) is
# observed at the session's one request method. The SDKs' aiohttp clients for httpx are observed at
# their httpx client, which marks the call `_seen`: the aiohttp wrapper beneath passes it through.


def _patch_aiohttp() -> bool:
    """Patch aiohttp's session if aiohttp is loaded; if it is installed but not loaded yet, once the
    app imports it (`_WhenImported`): importing it here would slow every app that never uses it."""
    module = sys.modules.get("aiohttp")
    if module is None:
        if importlib.util.find_spec("aiohttp") is None:
            return False
        if not any(type(finder) is _WhenImported for finder in sys.meta_path):
            sys.meta_path.insert(0, _WhenImported())
        return True
    cls, name = module.ClientSession, shortcuts.AIOHTTP_REQUEST
    if any(patched is cls for patched, *_ in _patched):
        return True
    original = cls.__dict__[name]
    call = original if type(original) is FunctionType else _bound_call(original)
    wrapper = _aiohttp_wrapper(call)
    wrapper.__modelmeter_original__ = original  # type: ignore[attr-defined]
    setattr(cls, name, wrapper)
    _patched.append((cls, name, original, wrapper))
    return True


class _WhenImported(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds nothing itself: when `aiohttp` is imported, it lets the other finders find it, runs
    their loader, and patches the session (if still instrumented); then it is gone."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != "aiohttp":
            return None
        _guarded(sys.meta_path.remove, self)
        for finder in sys.meta_path:
            spec = finder.find_spec(fullname, path, target) if hasattr(finder, "find_spec") else None
            if spec is not None and spec.loader is not None:
                self._loader, spec.loader = spec.loader, self
                return spec
        return None

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        module.__loader__ = module.__spec__.loader = self._loader  # theirs again, as if never here
        self._loader.exec_module(module)
        if _config is not None:
            _guarded(_patch_aiohttp)


def _unwatch_imports() -> None:
    sys.meta_path[:] = [finder for finder in sys.meta_path if type(finder) is not _WhenImported]


def _bound_call(original: Any) -> Callable[..., Any]:
    """`original` (someone's wrapper, a wrapt one say) called as a function of the session."""
    return lambda session, *args, **kwargs: original.__get__(session, type(session))(*args, **kwargs)


@dataclass
class _AiohttpRequest:
    """An aiohttp request as `_begin` reads an httpx one: url, headers as triples, body bytes."""

    url: Any
    headers: tuple[tuple[bytes, bytes, bytes], ...]
    content: bytes


@dataclass
class _AiohttpURL:
    scheme: str
    host: str | None
    port: int | None  # only when the URL names one, as httpx's
    path: str
    params: Any


def _as_triples(items: Any) -> list[tuple[bytes, bytes, bytes]]:
    return [(k.encode("latin-1"), k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in items]


def _aiohttp_request(session: Any, url: Any, kwargs: dict[str, Any]) -> _AiohttpRequest:
    target = shortcuts.aiohttp_url(session, url)
    headers = _as_triples(session.headers.items())
    given = kwargs.get("headers")
    if given:
        headers += _as_triples(given.items() if hasattr(given, "items") else given)
    data, as_json = kwargs.get("data"), kwargs.get("json")
    if isinstance(data, str):
        data = data.encode()
    elif as_json is not None:
        data = orjson.dumps(as_json)
    return _AiohttpRequest(
        _AiohttpURL(target.scheme, target.host, target.explicit_port, target.raw_path, target.query),
        tuple(headers),
        data if isinstance(data, bytes) else b"",
    )


def _aiohttp_wrapper(original: Callable[..., Any]) -> Callable[..., Any]:
    async def observed(self: Any, method: str, str_or_url: Any, **kwargs: Any) -> Any:
        config = _config
        if config is None or method.upper() != "POST" or _is_seen():
            return await original(self, method, str_or_url, **kwargs)
        begun = None
        try:
            request = _aiohttp_request(self, str_or_url, kwargs)
            begun = _begin(config, request, _same, False, is_async=True)
        except Exception:
            log.debug("modelmeter could not observe an aiohttp request", exc_info=True)
        if begun is None:
            return await original(self, method, str_or_url, **kwargs)
        observation, context = begun
        token = shortcuts.set(context) if context is not None else None
        try:
            response = await original(self, method, str_or_url, **kwargs)
        except BaseException as exc:
            _guarded(observation.end, "failed", exc)
            raise
        finally:
            if token is not None:
                _guarded(shortcuts.reset, token)
        _guarded(_attach_aiohttp, self, observation, response, kwargs.get("auto_decompress"))
        return response

    return observed


def _same(headers: Any) -> Any:
    return headers


def _attach_aiohttp(session: Any, observation: CallObservation, response: Any, decompress: Any) -> None:
    """Headers are in: tell the observation (without the content encoding aiohttp has already
    undone, when it does), and put the tee in front of the body."""
    try:
        items = _as_triples_raw(response.raw_headers)
        if session.auto_decompress if decompress is None else decompress:
            items = [item for item in items if item[1] != b"content-encoding"]
        observation.on_headers(response.status, tuple(items))
        tee = AiohttpContentTee(response.content, observation)
        response.content = tee
        for name in ("release", "close"):
            setattr(response, name, _ending(getattr(response, name), tee))
    except Exception:
        log.debug("modelmeter could not observe an aiohttp response", exc_info=True)
        _guarded(observation.end, "closed")


def _as_triples_raw(raw: Any) -> list[tuple[bytes, bytes, bytes]]:
    return [(k, k.lower(), v) for k, v in raw]


def _ending(method: Callable[..., Any], tee: AiohttpContentTee) -> Callable[..., Any]:
    def ended(*args: Any, **kwargs: Any) -> Any:
        _guarded(tee.ended)
        return method(*args, **kwargs)

    return ended
