"""instrument/: the shim that runs inside users' apps (imports nothing heavy).

`instrument()` patches the httpx2 and httpx transports (`shim.py`) so that every AI request, from
any SDK or a plain client, becomes one GenAI client span per HTTP attempt, ended when the response
body has been consumed, closed, failed or abandoned. Spans go to the spool (`spool.py`) through our
own batching span processor (a thread writes them), and to the app's own OpenTelemetry pipeline
when it has one (`tracing.py`). When the spool is their only consumer, they are light API spans
instead of SDK spans (`spool_span.py`), and most of a call's description (request attributes, key
fingerprint, naming, usage, price) is made on the spool's thread rather than the app's (`call.py`).

One logical call counts once. The anthropic SDK (2.x) opens its own GenAI span
(`anthropic.messages.create`, scope `com.anthropic.sdk.python`) whenever a TracerProvider is set.
We let it: our span is made while the SDK's span is current, so it is that span's child and
carries everything (usage, cost, route, key, tags). The spool exporter writes only our scope's
spans, so the spool never holds the SDK's span. For OTLP data that contains both, ingest drops a
foreign GenAI span that has a modelmeter child span. Turning the SDK's tracing off
(`ANTHROPIC_OPEN_TELEMETRY=false` or the client option) changes nothing for modelmeter.

Streaming usage of OpenAI-style chat needs `stream_options.include_usage`; we never add it (that
would change what the app receives), so such a stream's usage is unknown (`usage_known` false).

With opentelemetry-instrumentation-httpx: call its `instrument()` first and ours after, so our
wrapper is the outer one and its HTTP span is a child of our GenAI span (and uninstrument in the
reverse order). The demo's clock seam is `from modelmeter.instrument import clock; clock.now_ns`
(`modelmeter.instrument` as an attribute of the package is this function, not the module).

Content (prompts and completions) is captured only when asked: `instrument(capture_content=True,
capture_max_bytes=...)` or `MODELMETER_CAPTURE_CONTENT=1`. Keys never reach a span: only their
fingerprint and kind (`keys.py`).
"""

from __future__ import annotations

import atexit
import logging
import threading
from typing import Any

from modelmeter.instrument import call, exits, shim, tags
from modelmeter.instrument.options import resolve
from modelmeter.instrument.routes import parse_endpoints
from modelmeter.instrument.tags import tag
from modelmeter.instrument.tracing import Tracing

log = logging.getLogger("modelmeter")

_lock = threading.Lock()
_tracing: Tracing | None = None
_atexit_registered = False


def instrument(**options: Any) -> None:
    """Observe every AI call made through httpx2 / httpx from now on; idempotent.

    Options (each also an environment variable): `tracer_provider` (an SDK TracerProvider to
    use), `spool` (False to write no spool; a path to write it there; MODELMETER_SPOOL),
    `spool_dir`, `rotate_bytes`, `rotate_seconds`, `endpoints` (MODELMETER_ENDPOINTS),
    `capture_content` / `capture_max_bytes` (MODELMETER_CAPTURE_CONTENT / _MAX_BYTES),
    `service_name` (OTEL_SERVICE_NAME), and default tags `workflow`, `team`, `tier`, `run`
    (MODELMETER_WORKFLOW, ...). Calling it again with other options applies them.
    """
    global _tracing, _atexit_registered
    resolved = resolve(**options)
    with _lock:
        tracing = _tracing
        if tracing is None or tracing.options != resolved:
            if tracing is not None:
                tracing.stop()
            tracing = _tracing = Tracing(resolved)
        tags.load_defaults({k: getattr(resolved, k) for k in ("workflow", "team", "tier", "run")})
        shim.configure(
            shim.ShimConfig(
                tracer=tracing.tracer,
                submit=tracing.spool.submit if tracing.spool is not None else None,
                endpoints=parse_endpoints(resolved.endpoints),
                capture_max=resolved.capture_max_bytes if resolved.capture_content else None,
            )
        )
        shim.patch_all()
        exits.watch(flush)
        if not _atexit_registered:
            atexit.register(_at_exit)
            _atexit_registered = True


def uninstrument() -> None:
    """Stop observing and put httpx2 / httpx back exactly as they were; idempotent."""
    global _tracing
    with _lock:
        shim.configure(None)
        shim.unpatch_all()
        exits.unwatch()
        if _tracing is not None:
            _tracing.stop()
            _tracing = None


def _at_exit() -> None:
    """Record the streams the app leaves open, then write everything out."""
    call.end_open_streams()
    flush()


def flush(timeout_s: float = 5.0) -> bool:
    """Write every ended call to the spool and close the current spool file (and export the spans
    of a provider of our own); True when all went out in time."""
    tracing = _tracing
    if tracing is None:
        return True
    try:
        with exits.flushing():
            return tracing.flush(timeout_s)
    except Exception:
        log.warning("modelmeter: flush failed", exc_info=True)
        return False


__all__ = ["flush", "instrument", "tag", "uninstrument"]
