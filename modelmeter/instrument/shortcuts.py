"""Every place the shim reads another library's private parts, and what it falls back to.

The shim runs on the app's thread for every AI call, so where a library's public API would do a lot
of work for a little answer, we read the answer where the library keeps it. Each shortcut is checked
(once, at import or when first used) against the public API, falls back to it when the private
part is not what we expect, and is held to the public API by `tests/test_instrument_shortcuts.py`.
Nothing outside this module touches another library's private attributes.

- OpenTelemetry's current context: its default runtime context keeps the current `Context` in one
  ContextVar, which its API reaches through two or three Python calls per operation, and making a
  span current copies the context twice. `get`, `set`, `reset` reach the ContextVar directly (with
  another runtime context, chosen by `OTEL_PYTHON_CONTEXT`, they are the API's functions);
  `with_span` makes a context with one copy, under the key the API keeps the current span at.
- httpx/httpx2 headers: both keep (name, lower-cased name, value) triples in a list, which one C
  call copies (`header_items_reader`); the public API lowers every name again on every request.
- httpx/httpx2 URLs: both keep the parsed parts, which the public properties re-derive on every
  access (`url_parts`).
- httpx/httpx2 clients: the one method that sends one request through the transport its URL
  selects (`CLIENT_SEND`, patched by `shim.py` for transports that are not the library's own), and
  that selection (`transport_for`); neither has a public equivalent. When a version lacks the
  method, the client seam is simply not installed. Whether a response already holds its body
  (`body_in_memory`).
- OpenTelemetry SDK spans: our own attributes are valid by construction, so they go into the span's
  attribute store at once when no limit could cut them (`set_own_attributes`); the public setter
  validates each value.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from contextvars import Token
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext
from opentelemetry.trace import SpanContext
from opentelemetry.trace.propagation import _SPAN_KEY  # where the API keeps the current span

# --- the current OpenTelemetry context ----------------------------------------------------------

get: Callable[[], Context] = otel_context.get_current
set: Callable[[Context], Token[Context]] = otel_context.attach  # a ContextVar's name
reset: Callable[[Token[Context]], None] = otel_context.detach

_runtime: Any = getattr(otel_context, "_RUNTIME_CONTEXT", None)
if type(_runtime) is ContextVarsRuntimeContext:
    get = _runtime._current_context.get
    set = _runtime._current_context.set
    reset = _runtime._current_context.reset


def parent_of(context: Context) -> SpanContext | None:
    """The SpanContext of the span current in `context`, or None when there is none."""
    span: Any = context.get(_SPAN_KEY)
    if span is None:
        return None
    parent = span.get_span_context()
    return parent if parent.is_valid else None


def with_span(context: Context, span: trace.Span) -> Context:
    """`context` with `span` as its current span (one copy instead of the API's two)."""
    made = Context(context)
    dict.__setitem__(made, _SPAN_KEY, span)  # a Context refuses item assignment by design
    return made


# --- httpx / httpx2 -----------------------------------------------------------------------------


def header_items_reader(headers_class: type) -> Callable[[Any], Sequence[tuple[bytes, bytes, bytes]]]:
    """How to read one HTTP library's headers as (name as sent, lower-cased name, value) triples
    (snapshot them with `tuple()`); checked once per library: if its `Headers` ever keeps something
    else, the triples are made from its public `raw` pairs."""
    probe = headers_class({"X-Probe": "1"})
    if getattr(probe, "_list", None) == [(b"X-Probe", b"x-probe", b"1")]:
        return operator.attrgetter("_list")
    return lambda headers: [(k, k.lower(), v) for k, v in headers.raw]


def url_parts(url: Any) -> tuple[Any, Any, Any, Any]:
    """(scheme, host, port, path) of an httpx-family URL, from its parsed form when it keeps one."""
    parts = getattr(url, "_uri_reference", url)
    return parts.scheme, parts.host, parts.port, parts.path


# --- OpenTelemetry SDK spans --------------------------------------------------------------------


def set_own_attributes(span: Any, attributes: Mapping[str, Any]) -> None:
    """Set attributes we built ourselves (all valid OpenTelemetry types) on an SDK span: straight
    into its attribute store when nothing could be cut or refused, else through the public API
    (which applies the app's limits to the span; our record never goes through them)."""
    store = getattr(span, "_attributes", None)
    data = getattr(store, "_dict", None)
    if (
        isinstance(data, dict)
        and getattr(store, "max_value_len", 0) is None
        and not getattr(store, "_immutable", True)
        and (store.maxlen is None or len(data) + len(attributes) <= store.maxlen)  # type: ignore[union-attr]
    ):
        data.update(attributes)
    else:
        span.set_attributes(attributes)


# a client's send of one request, without redirects or auth: where a transport is chosen and called
CLIENT_SEND = "_send_single_request"


def transport_for(client: Any, url: Any) -> Any:
    """The transport an httpx-family client sends a request to `url` through (its mounts apply)."""
    return client._transport_for_url(url)


def body_in_memory(response: Any) -> bytes | None:
    """The body of a response that was made with it (a `MockTransport`'s: its client never reads
    the stream), else None; the public `content` raises for a body not read, which costs more."""
    return response.content if hasattr(response, "_content") else None


# --- aiohttp ------------------------------------------------------------------------------------

# the session method every request goes through (`request`, `post`, ... return a context manager
# around it): where google-genai's async client and any other aiohttp caller is observed
AIOHTTP_REQUEST = "_request"


def aiohttp_url(session: Any, str_or_url: Any) -> Any:
    """The yarl URL an aiohttp session sends a request for `str_or_url` to (its `base_url` applies)."""
    return session._build_url(str_or_url)
