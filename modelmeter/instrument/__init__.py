"""instrument/: the shim that runs inside users' apps (imports nothing heavy).

`instrument()` patches httpx2, httpx and aiohttp (`shim.py`) so that every AI request, from any SDK
or a plain client, is observed: at the transports for httpx's and httpx2's own, at the clients for
any other transport (the SDKs' aiohttp client, `MockTransport`, a company's own), at aiohttp's
session for code that calls aiohttp itself (google-genai's async client), each call once.

Two paths leave an observed call (`call.CallObservation`), and neither depends on the other:
- the record, always (unless `spool=False`): when the response body ends (consumed, closed, failed
  or abandoned) the call goes to the spool's queue (`spool.Spool`); the spool's thread describes it
  (`describe.py`: naming, route, usage, price, key, tags) and appends one flat record within
  `spool.WRITE_DELAY_S`. Its ids are those of the current context, sampled or not: a call joins the
  app's trace whatever the app's sampler decided, and no sampler, span limit or processor of the
  app's ever sees our record.
- the span, only when someone listens (`tracing.py`: the app's TracerProvider, or OTLP export): a
  GenAI client span from the listener's tracer, following its sampler and limits; when it records,
  the call is described on the app's thread as the body ends and the span carries the same
  attributes as the record (`gen_ai.*` as the OpenTelemetry conventions name them). With nobody
  listening, no span is made; a non-recording span with the call's ids is made current only when
  code beneath our wrapper could read it (an instrumentation's HTTP span then nests under it).

Every process: a forked child starts its own spool (own thread, own file, nothing of the parent's
kept open); the exits we can see (normal exit, multiprocessing's finalizers, SIGTERM when the app
has no handler) write the spool out first (`exits.py`); for `os._exit` and SIGKILL, records reach
the OS within `spool.WRITE_DELAY_S` of a call's end, and ingest reads files their writer left open.

How the shim stays cheap on the app's thread: per request, one method check for non-AI traffic and
a cached route lookup for POSTs; for an AI call, the request's bytes and headers are kept as they
are (one copy, no parsing), the response is passed through a tee that only appends chunks once
nothing more is to be learnt per chunk, and the call's end is an append to a queue. Decoding the
request, reading a JSON body, describing, pricing and serialising happen on the spool's thread,
unless a recording span needs its attributes at once (large bodies are read at once so their bytes
can go). Where another library's public API would cost more than the answer, we read its private
parts (`shortcuts.py`, all in one place, each held to the public API by a test). Figures are in
BENCHMARKS.md (`bench/bench_shim.py`).

One logical call counts once. Retries and fallbacks are folded by `correlation.py` (call id,
attempt, fallback_from). The anthropic SDK (2.x) opens its own GenAI span whenever a TracerProvider
is set; ours is made while it is current, so it is that span's child and carries everything (usage,
cost, route, key, tags); the spool holds our record only, and ingest drops a foreign GenAI span
that has a modelmeter child in OTLP data that holds both.

Streaming usage of OpenAI-style chat needs `stream_options.include_usage`; we never add it (that
would change what the app receives), so such a stream's usage is unknown (`usage_known` false).

With opentelemetry-instrumentation-httpx: call its `instrument()` first and ours after, so our
wrapper is the outer one and its HTTP span is a child of our GenAI span (and uninstrument in the
reverse order). The demo's clock seam is `from modelmeter.instrument import clock; clock.now_ns`
(`modelmeter.instrument` as an attribute of the package is this function, not the module).

Content (prompts and completions) is captured only when asked: `instrument(capture_content=True,
capture_max_bytes=...)` or `MODELMETER_CAPTURE_CONTENT=1`. Keys never reach a record or a span:
only their fingerprint and kind (`keys.py`).
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
    """Observe every AI call made through httpx2 / httpx / aiohttp from now on; idempotent.

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
    """Stop observing and put httpx2 / httpx / aiohttp back exactly as they were; idempotent."""
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
