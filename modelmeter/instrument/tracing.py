"""Where observed calls go: always the spool (when on), and a span only when someone listens.

- The app's provider (`instrument(tracer_provider=...)`, or a global SDK TracerProvider) listens:
  our GenAI span is made by its tracer, so its sampler, limits and processors decide what becomes
  of the span. We add nothing to the app's provider; our record never goes through it.
- With no app provider, `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` make a
  private provider of ours (not set globally) with an OTLP/HTTP exporter (extra `otlp`, imported
  only then): that exporter listens.
- Otherwise no one does, and no span is made (`Tracing.tracer` is None).
The record's `service` and `environment` come from the listening provider's resource, else from
the resource the SDK would make for us (`service.name` from OTEL_SERVICE_NAME or the program).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from modelmeter import semconv
from modelmeter.instrument.options import Options
from modelmeter.instrument.spool import Spool, SpoolWriter

log = logging.getLogger("modelmeter")


class Tracing:
    """The spool (if on), the tracer our spans come from (None: no span is made), and a provider of
    our own when we made one."""

    def __init__(self, options: Options) -> None:
        from modelmeter import __version__

        self.options = options
        self.owned: TracerProvider | None = None
        provider = options.tracer_provider
        if provider is None:
            global_provider = trace.get_tracer_provider()
            if isinstance(global_provider, TracerProvider):
                provider = global_provider
        resource = provider.resource if provider is not None else _own_resource(options)
        if provider is None and _otlp_configured():
            exporter = _otlp_exporter()
            if exporter is not None:
                provider = self.owned = TracerProvider(resource=resource)
                self.owned.add_span_processor(BatchSpanProcessor(exporter))
        self.tracer: trace.Tracer | None = (
            provider.get_tracer(semconv.INSTRUMENTATION_SCOPE, __version__) if provider is not None else None
        )
        self.spool: Spool | None = None
        if options.spool:
            service, environment = _resource_fields(resource)
            writer = SpoolWriter(options.spool_dir, options.rotate_bytes, options.rotate_seconds)
            self.spool = Spool(writer, service, environment)

    def flush(self, timeout_s: float) -> bool:
        ok = self.spool.flush(timeout_s) if self.spool is not None else True
        if self.owned is not None:
            ok = self.owned.force_flush(int(timeout_s * 1000)) and ok
        return ok

    def stop(self) -> None:
        """Write everything out and stop; a provider of our own is shut down."""
        if self.spool is not None:
            self.spool.shutdown()
        if self.owned is not None:
            self.owned.shutdown()


def _own_resource(options: Options) -> Resource:
    return Resource.create({semconv.SERVICE_NAME: options.service_name})


def _resource_fields(resource: Any) -> tuple[Any, Any]:
    """(service, environment) of a resource."""
    attributes = dict(resource.attributes) if resource is not None else {}
    return (
        attributes.get(semconv.SERVICE_NAME),
        attributes.get(semconv.DEPLOYMENT_ENVIRONMENT_NAME) or attributes.get(semconv.DEPLOYMENT_ENVIRONMENT),
    )


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
