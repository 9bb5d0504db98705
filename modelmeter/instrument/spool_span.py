"""A lighter span for the default setup, where the spool is the only consumer of our spans.

When `instrument()` made its own TracerProvider (the app has none) and nothing but our spool
processor is attached to it, an SDK span is machinery nobody looks at: its sampler, attribute
store, limits, lock, event and link lists and the read-only copy made at `end()` cost more than
the rest of a call's observation. `SpoolTracer` makes `SpoolSpan`s instead: a span of the
OpenTelemetry API (so it can be the current span, and the OpenTelemetry httpx instrumentation's
HTTP span still becomes its child), with ids from the provider's id generator, the same sampling
decision as the SDK's default `ParentBased(ALWAYS_ON)` sampler, and at `end()` it goes to the same
span processor an SDK span would reach, in the shape that processor reads (`spool.ended`).

It is used only when that holds (`tracing.Tracing.tracer` checks: a provider of our own, the
default sampler, no OTLP export); with the app's provider, a custom sampler or OTLP export we make
ordinary SDK spans. The spool record has no events, links or status, so dropping those here loses
nothing; attributes are kept without the SDK's count limit.
"""

from __future__ import annotations

import functools
import logging
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, TraceFlags, TraceState
from opentelemetry.util import types

from modelmeter.instrument import clock

log = logging.getLogger("modelmeter")

_SAMPLED_NEW_TRACE = TraceFlags(TraceFlags.SAMPLED | TraceFlags.RANDOM_TRACE_ID)
_EMPTY_STATE = TraceState()
_UNSET = Status()  # shared: a Status is never changed in place


class Completion(Protocol):
    """What gives the rest of a `SpoolSpan` on the spool's thread (`call.CallObservation`)."""

    def complete(self) -> tuple[str, Mapping[str, Any]]:
        """The span's final name and the rest of its attributes; never raises."""
        ...


class SpoolSpan(trace.Span):
    """A recording span whose only reader is the spool processor (see the module docstring).

    What most spans leave unset has its default on the class: one is made per call on the app's
    thread, and only what differs is stored on it."""

    _context: SpanContext | None = None
    end_time: int | None = None
    complete: Completion | None = None  # gives the rest on the spool's thread (see `end`)
    status = _UNSET

    def __init__(  # the span's own values, passed as they are (no tuple in between)
        self,
        name: str,
        trace_id: int,
        span_id: int,
        trace_flags: TraceFlags,
        trace_state: TraceState,
        parent: SpanContext | None,
        kind: SpanKind,
        start_time: int,
        tracer: SpoolTracer,
    ) -> None:
        self.name = name
        self.trace_id = trace_id
        self.span_id = span_id
        self._trace_flags = trace_flags
        self._trace_state = trace_state
        self.parent = parent
        self.kind = kind
        self.start_time = start_time
        self.attributes: dict[str, Any] = {}
        self._tracer = tracer

    @property
    def resource(self) -> Resource:
        return self._tracer.resource

    @property
    def instrumentation_scope(self) -> InstrumentationScope:
        return self._tracer.scope

    @property
    def context(self) -> SpanContext:
        """The span's SpanContext, made when first asked for (most calls never are until the spool
        writes them). The ids are fixed at start, so two threads making it at once make equal ones."""
        context = self._context
        if context is None:
            context = self._context = SpanContext(
                self.trace_id, self.span_id, False, self._trace_flags, self._trace_state
            )
        return context

    def get_span_context(self) -> SpanContext:
        return self.context

    def is_recording(self) -> bool:
        return self.end_time is None

    def add_own_attributes(self, attributes: Mapping[str, Any]) -> None:
        """Attributes the shim built itself, all of valid OpenTelemetry types: no checks."""
        if self.end_time is None:
            self.attributes.update(attributes)

    def set_attributes(self, attributes: Mapping[str, types.AnyValue]) -> None:
        for key, value in attributes.items():
            self.set_attribute(key, value)

    def set_attribute(self, key: str, value: types.AnyValue) -> None:
        """Someone else's attribute on our span (say a transport adding to the current span):
        kept when it is a valid OpenTelemetry value, as the SDK would."""
        if self.end_time is not None or not isinstance(key, str) or not key:
            return
        clean = _clean(value)
        if clean is not None:
            self.attributes[key] = clean

    def add_event(self, name: str, attributes: types.Attributes = None, timestamp: int | None = None) -> None:
        """Events do not reach the spool record (see the module docstring)."""

    def add_link(self, context: SpanContext, attributes: types.Attributes = None) -> None:
        """Links do not reach the spool record."""

    def update_name(self, name: str) -> None:
        if self.end_time is None:
            self.name = name

    def set_status(self, status: Status | Any, description: str | None = None) -> None:
        if self.end_time is None:
            self.status = status if isinstance(status, Status) else Status(status, description)

    def record_exception(
        self,
        exception: BaseException,
        attributes: types.Attributes = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        """Exception events do not reach the spool record; the shim records `error.type` itself."""

    def end(self, end_time: int | None = None, complete: Completion | None = None) -> None:
        """End the span. The shim passes `complete`, which gives the span's final name and the rest
        of its attributes, and which the spool's thread asks just before the span's record is made:
        work no one reads before then stays off the app's thread."""
        if self.end_time is not None:
            return
        self.end_time = end_time if end_time is not None else clock.now_ns()
        if complete is not None:
            self.complete = complete
        processor = self._tracer.processor
        if processor is not None:
            processor.on_end(self)  # type: ignore[arg-type]  # reads what a ReadableSpan has


def _clean(value: Any) -> Any:
    if isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        items = tuple(value)
        kinds = {type(v) for v in items if v is not None}
        if len(kinds) <= 1 and all(k in (str, bool, int, float) for k in kinds):
            return items
    log.debug("modelmeter: invalid attribute value of type %s dropped", type(value).__name__)
    return None


class SpoolTracer(trace.Tracer):
    """Makes `SpoolSpan`s; sampling as the SDK's default sampler decides (a sampled or absent
    parent: record; an unsampled parent: a non-recording span that nothing exports)."""

    def __init__(
        self,
        processor: SpanProcessor | None,
        resource: Resource,
        id_generator: IdGenerator,
        scope: InstrumentationScope,
    ) -> None:
        self.processor = processor
        self.resource = resource
        self.scope = scope
        self._new_span_id: Callable[[], int] = id_generator.generate_span_id
        self._new_trace_id: Callable[[], int] = id_generator.generate_trace_id
        if type(id_generator) is RandomIdGenerator:
            # the SDK's default draws ids from `random`: draw them here without its Python frames
            # (it redraws a 0, the invalid id, which comes at odds of 2**-64)
            self._new_span_id = functools.partial(random.getrandbits, 64)
            self._new_trace_id = functools.partial(random.getrandbits, 128)

    def start_span(
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Sequence[Link] | None = (),
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> trace.Span:
        parent: SpanContext | None = trace.get_current_span(context).get_span_context()
        span = self.start_child(
            name, parent if parent is not None and parent.is_valid else None, kind, start_time
        )
        if attributes:
            span.set_attributes(attributes)
        return span

    def start_child(
        self, name: str, parent: SpanContext | None, kind: SpanKind, start_time: int | None = None
    ) -> trace.Span:
        """`start_span` when the parent's SpanContext is known (valid, or None for a new trace):
        the shim's way, with no context lookups."""
        if start_time is None:
            start_time = clock.now_ns()
        if parent is None:
            trace_id, flags, state = self._new_trace_id(), _SAMPLED_NEW_TRACE, _EMPTY_STATE
        else:
            trace_id, flags, state = parent.trace_id, parent.trace_flags, parent.trace_state
            if not flags & TraceFlags.SAMPLED:
                return trace.NonRecordingSpan(SpanContext(trace_id, self._new_span_id(), False, flags, state))
        return SpoolSpan(name, trace_id, self._new_span_id(), flags, state, parent, kind, start_time, self)

    @contextmanager
    def start_as_current_span(  # type: ignore[override]
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Sequence[Link] | None = (),
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> Iterator[trace.Span]:
        span = self.start_span(name, context, kind, attributes, links, start_time)
        with trace.use_span(span, end_on_exit=end_on_exit) as current:
            yield current
