"""Where our spans go: the app's TracerProvider when it has one, else a private one of ours.

- An injected provider (`instrument(tracer_provider=...)`) or a global SDK TracerProvider gets our
  spool processor (`spool.SpoolProcessor`) added; we never replace the app's provider.
- Otherwise we make a private provider (resource `service.name` from OTEL_SERVICE_NAME or the
  program name) and do not set it globally, so other libraries' tracing stays as the app left it.
  When `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set, it also gets an
  OTLP/HTTP exporter (extra `otlp`, imported only then).
A provider cannot drop a processor, so ours is wrapped in a switch that `uninstrument()` turns off;
instrumenting again reuses the same processor.
"""

from __future__ import annotations

import logging
import os
import weakref
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider, sampling
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from modelmeter import semconv
from modelmeter.instrument.options import Options
from modelmeter.instrument.spool import SpoolProcessor, SpoolWriter
from modelmeter.instrument.spool_span import SpoolTracer

log = logging.getLogger("modelmeter")


class SwitchableProcessor(SpanProcessor):
    """Passes spans on to `inner` while on; a span processor that can be taken out of service."""

    def __init__(self, inner: SpanProcessor) -> None:
        self.inner = inner
        self.on = True

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if self.on:
            self.inner.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        if self.on:
            self.inner.on_end(span)

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


class Tracing:
    """The provider in use, our processors on it, and the spool writer (if any)."""

    def __init__(self, provider: TracerProvider, owned: bool) -> None:
        self.provider = provider
        self.owned = owned
        self.processors: list[SwitchableProcessor] = []
        self.writer: SpoolWriter | None = None

    def tracer(self) -> trace.Tracer:
        """The SDK tracer of the provider; in the spool-only setup a `SpoolTracer` (spool_span.py)."""
        from modelmeter import __version__

        if self.spool_only:
            # the spool's processor itself, not its switch: the provider is ours, and `stop()`
            # shuts it down, after which the processor takes no more spans
            processors = [p.inner for p in self.processors if isinstance(p.inner, SpoolProcessor)]
            return SpoolTracer(
                processors[0] if processors else None,
                self.provider.resource,
                self.provider.id_generator,
                InstrumentationScope(semconv.INSTRUMENTATION_SCOPE, __version__),
            )
        return self.provider.get_tracer(semconv.INSTRUMENTATION_SCOPE, __version__)

    @property
    def spool_only(self) -> bool:
        """Our own provider, the default sampler, and no processor but the spool's: nothing else
        can see our spans, so they need not be SDK spans."""
        return (
            self.owned
            and self.provider.sampler is sampling.DEFAULT_ON
            and all(isinstance(p.inner, SpoolProcessor) for p in self.processors)
        )

    def flush(self, timeout_s: float) -> bool:
        ok = all(p.force_flush(int(timeout_s * 1000)) for p in self.processors)
        if self.writer is not None:
            self.writer.close()
        return ok

    def stop(self) -> None:
        """Take our processors out of service (flushing first); an owned provider is shut down."""
        self.flush(5.0)
        for processor in self.processors:
            processor.on = False
        if self.owned:  # a provider that is shut down cannot be used again: forget it
            _attached.pop(self.provider, None)
            self.provider.shutdown()


# providers we have attached processors to, so instrumenting again does not attach twice
_attached: weakref.WeakKeyDictionary[Any, tuple[Options, Tracing]] = weakref.WeakKeyDictionary()


def set_up(options: Options) -> Tracing:
    provider = options.tracer_provider
    owned = False
    if provider is None:
        global_provider = trace.get_tracer_provider()
        if isinstance(global_provider, TracerProvider):
            provider = global_provider
        else:
            provider = TracerProvider(resource=Resource.create({semconv.SERVICE_NAME: options.service_name}))
            owned = True
    previous = _attached.get(provider)
    if previous is not None and previous[0] == options:
        tracing = previous[1]
        for processor in tracing.processors:
            processor.on = True
        return tracing
    if previous is not None:
        previous[1].stop()
    tracing = Tracing(provider, owned)
    if options.spool:
        tracing.writer = SpoolWriter(options.spool_dir, options.rotate_bytes, options.rotate_seconds)
        _add(tracing, SpoolProcessor(tracing.writer))
    if owned and _otlp_configured():
        exporter = _otlp_exporter()
        if exporter is not None:
            _add(tracing, BatchSpanProcessor(exporter))
    _attached[provider] = (options, tracing)
    return tracing


def _add(tracing: Tracing, processor: SpanProcessor) -> None:
    switch = SwitchableProcessor(processor)
    tracing.provider.add_span_processor(switch)
    tracing.processors.append(switch)


def _otlp_configured() -> bool:
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def _otlp_exporter() -> Any:
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        log.warning("modelmeter: OTEL_EXPORTER_OTLP_* is set but the `otlp` extra is not installed")
        return None
    return OTLPSpanExporter()
