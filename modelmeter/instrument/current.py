"""The current OpenTelemetry context, read and set in one step each.

OpenTelemetry's default runtime context keeps the current `Context` in one ContextVar, which its
API reaches through two or three Python calls per operation; making a span current copies the
context twice. The shim does this on the app's thread for AI calls, so when the default runtime
context is in use it reaches the ContextVar directly (`get`, `set`, `reset`); with another runtime
context (chosen by `OTEL_PYTHON_CONTEXT`) these are the public API's functions. Either way the
contexts are the ones the API makes and reads, under the key it keeps the current span at.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import Token
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext
from opentelemetry.trace import SpanContext
from opentelemetry.trace.propagation import _SPAN_KEY  # where the API keeps the current span

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
