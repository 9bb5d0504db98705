"""Time the shim adds to an AI call: the real openai SDK, bare against instrumented, in one process.

    .venv/bin/python bench/bench_shim.py                 # the numbers in BENCHMARKS.md
    .venv/bin/python bench/bench_shim.py --app-provider  # the app has its own TracerProvider
    .venv/bin/python bench/bench_shim.py --pairs 200     # a quick look

The process is instrumented once (the default setup: no provider, so no span, only the spool's
record, written to a temporary directory; with `--app-provider`, a span per call as well) and makes
each call twice in turn: once through a client whose transport is observed, once through an
identical client whose transport and client classes keep httpx2's own methods (`instrument()`
patches the base classes', so that client is never observed). Calls alternate one by one (bare
then observed, then observed then bare), so both sides run in the same phase of this machine,
whose speed drifts by up to 2x within a minute; what the shim adds is the median of the per-pair
differences.

Two measurements:
1. against the mock: `modelmeter.mock` serves in a separate process over loopback; one JSON chat
   completion, and SSE streams of 50 and of 5 content chunks (`include_usage`), read to the end;
2. client-side CPU only: the same SDK calls, but httpx2's connection pool answers with canned bytes
   from memory (no sockets, no server), which isolates the shim's own cost from network noise.

For scale, each JSON case is also measured with the generic OpenTelemetry httpx2 client span in
place of our shim (`opentelemetry-instrumentation-httpx`, batch-exported to nowhere): the issue
sets its goal against that span's cost (about 200 µs on this class of machine).

Reported per case: medians of per-call wall and process CPU time per side, the added wall and CPU
time (median of pair differences), and the CPU the spool's thread spent per observed call (the
process's CPU outside the calling thread, over the case and until the spool has written it):
that work runs in batches off the app's thread, so the medians leave it out. Per stream chunk
three figures: the 50-chunk stream's added time / 50; (stream added - JSON added) / 50; and the
cost of one more chunk, (50-chunk stream added - 5-chunk stream added) / 45, on which the goal of
at most 2 µs per chunk is judged.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import httpcore2
import httpx2
import openai
from opentelemetry.instrumentation.httpx import HTTPX2ClientInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

import modelmeter
from modelmeter.instrument.spool import WRITE_DELAY_S

API = "https://api.openai.com/v1"
MESSAGES: Any = [{"role": "user", "content": "Summarise the weekly cost report in one line."}]
CHUNKS = 50
FEW_CHUNKS = 5  # the short stream: the difference to CHUNKS isolates the cost per chunk


def _serve_mock(conn: Any) -> None:
    from modelmeter.mock import MockProviders

    with MockProviders(vendors=["openai"]) as mock:
        conn.send(mock.base_url("openai"))
        conn.recv()  # until told to stop


# --- canned transport (client-side CPU only) --------------------------------------------------


def _canned_bodies(content_chunks: int) -> tuple[bytes, list[bytes]]:
    head = (
        b'{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini-2024-07-18",'
    )
    chunks = [
        head + b'"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}'
    ]
    chunks += [
        head + b'"choices":[{"index":0,"delta":{"content":"word%d "},"finish_reason":null}],"usage":null}' % i
        for i in range(content_chunks)
    ]
    chunks.append(head + b'"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}')
    chunks.append(
        head + b'"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":50,"total_tokens":62}}'
    )
    events = [b"data: " + c + b"\n\n" for c in chunks] + [b"data: [DONE]\n\n"]
    body = (
        b'{"id":"chatcmpl-2","object":"chat.completion","created":1,"model":"gpt-4o-mini-2024-07-18","choices":'
        b'[{"index":0,"message":{"role":"assistant","content":"Costs rose 4% on gateway traffic."},'
        b'"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":9,"total_tokens":21}}'
    )
    return body, events


class _CannedPool:
    """Stands in for httpcore2's connection pool: answers from memory, one SSE event per chunk."""

    def __init__(self) -> None:
        self.json_body = _canned_bodies(0)[0]
        self.events = {n: _canned_bodies(n)[1] for n in (CHUNKS, FEW_CHUNKS)}

    def handle_request(self, request: httpcore2.Request) -> httpcore2.Response:
        if b'"stream":true' in b"".join(request.stream):  # type: ignore[union-attr]
            headers = [(b"content-type", b"text/event-stream"), (b"x-request-id", b"req_1")]
            chunks = int(dict(request.headers)[b"x-mock-chunks"])
            return httpcore2.Response(200, headers=headers, content=iter(self.events[chunks]))
        headers = [(b"content-type", b"application/json"), (b"x-request-id", b"req_2")]
        return httpcore2.Response(200, headers=headers, content=[self.json_body])

    def close(self) -> None:
        pass


class _UnobservedTransport(httpx2.HTTPTransport):
    """httpx2's transport with a request method of its own, the one httpx2 ships: `instrument()`
    patches the base class's, so calls through this class are never observed (the bare side)."""

    handle_request = httpx2.HTTPTransport.handle_request


class _UnobservedClient(httpx2.Client):
    """The bare side's client: the client seam (for transports that are not httpx2's own, as the
    one above looks) is patched on the base class too, so this class keeps the original method."""

    _send_single_request = httpx2.Client._send_single_request


assert not hasattr(_UnobservedTransport.handle_request, "__modelmeter_original__"), "imported too late"
assert not hasattr(_UnobservedClient._send_single_request, "__modelmeter_original__"), "imported too late"


def _client(base_url: str, observed: bool, pool: Any = None) -> openai.OpenAI:
    """An openai client whose calls the shim observes (or not); `pool` answers instead of the network."""
    transport = httpx2.HTTPTransport() if observed else _UnobservedTransport()
    if pool is not None:
        transport._pool = pool
    return openai.OpenAI(
        base_url=base_url,
        api_key="sk-proj-FAKE0000000000",
        max_retries=0,
        http_client=(httpx2.Client if observed else _UnobservedClient)(transport=transport),
    )


def _canned_client(observed: bool = True) -> openai.OpenAI:
    return _client(API, observed, _CannedPool())


class _Discard(SpanExporter):
    def export(self, spans: Any) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def _reference_client(base_url: str, pool: Any = None) -> openai.OpenAI:
    """A bare client (not observed by us) with the generic OpenTelemetry httpx2 client span on it,
    exported in batches to nowhere: the yardstick the issue's goal is set against."""
    client = _client(base_url, False, pool)
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(_Discard()))
    HTTPX2ClientInstrumentor().instrument_client(client._client, tracer_provider=provider)  # type: ignore[arg-type]
    return client


# --- timing -----------------------------------------------------------------------------------


def _json_call(client: openai.OpenAI) -> Callable[[], None]:
    def call() -> None:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    return call


def _stream_call(client: openai.OpenAI, chunks: int) -> Callable[[], None]:
    def call() -> None:
        stream = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
            extra_headers={"x-mock-chunks": str(chunks)},
        )
        for _ in stream:
            pass

    return call


Sample = tuple[float, float]  # (wall µs, process CPU µs) of one call


def _timed(call: Callable[[], None]) -> Sample:
    c0, t0 = time.process_time(), time.perf_counter()
    call()
    return (time.perf_counter() - t0) * 1e6, (time.process_time() - c0) * 1e6


def _paired(bare: Callable[[], None], observed: Callable[[], None], pairs: int, warmup: int) -> Result:
    """`pairs` calls each way, alternating one by one (the order flips every pair)."""
    for _ in range(warmup):
        bare()
        observed()
    modelmeter.flush()
    cpu0, thread0 = time.process_time(), time.thread_time()
    samples: list[tuple[Sample, Sample]] = []
    for i in range(pairs):
        if i % 2:
            seen = _timed(observed)
            samples.append((_timed(bare), seen))
        else:
            samples.append((_timed(bare), _timed(observed)))
    time.sleep(WRITE_DELAY_S + 0.5)  # the spool's thread writes what the calls left, on its own
    elsewhere = (time.process_time() - cpu0) - (time.thread_time() - thread0)

    def added(field: int) -> float:
        return statistics.median(o[field] - b[field] for b, o in samples)

    return Result(
        statistics.median(b[0] for b, _ in samples),
        statistics.median(o[0] for _, o in samples),
        statistics.median(b[1] for b, _ in samples),
        statistics.median(o[1] for _, o in samples),
        added(0),
        added(1),
        elsewhere * 1e6 / pairs,
    )


@dataclass(frozen=True)
class Result:
    """One case: medians per side, what the shim adds (median of pair differences), and the CPU
    spent outside the calling thread (the spool's) per observed call."""

    bare_wall: float
    instrumented_wall: float
    bare_cpu: float
    instrumented_cpu: float
    added_wall: float
    added_cpu: float
    spool_cpu: float


def _row(label: str, calls: int, r: Result) -> str:
    """One table row: pooled medians bare and instrumented, and what the shim adds."""
    cells = [label, f"{calls} + {calls}", f"{r.bare_wall:,.0f} → {r.instrumented_wall:,.0f}"]
    cells += [f"**{r.added_wall:+,.1f}**", f"{r.bare_cpu:,.0f} → {r.instrumented_cpu:,.0f}"]
    cells += [f"**{r.added_cpu:+,.1f}**", f"{r.spool_cpu:,.1f}"]
    return "| " + " | ".join(cells) + " |"


def _chunk_row(label: str, json: Result, stream: Result, short: Result) -> str:
    """Per chunk (wall, then CPU): stream added / CHUNKS, (stream - JSON added) / CHUNKS, and
    (stream - short stream added) / (CHUNKS - FEW_CHUNKS), the cost of one more chunk."""
    cells = [label]
    for field in ("added_wall", "added_cpu"):
        whole = getattr(stream, field)
        beyond_json = whole - getattr(json, field)
        beyond_short = whole - getattr(short, field)
        cells += [f"{whole / CHUNKS:+.2f}", f"{beyond_json / CHUNKS:+.2f}"]
        cells.append(f"**{beyond_short / (CHUNKS - FEW_CHUNKS):+.2f}**")
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=1500, help="timed calls each way per case")
    parser.add_argument("--warmup", type=int, default=100, help="untimed calls each way first")
    parser.add_argument(
        "--app-provider",
        action="store_true",
        help="the app has its own global TracerProvider (batch-exported to nowhere): a span per call",
    )
    args = parser.parse_args()
    if args.app_provider:
        from opentelemetry import trace

        app_provider = TracerProvider()
        app_provider.add_span_processor(BatchSpanProcessor(_Discard()))
        trace.set_tracer_provider(app_provider)

    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_serve_mock, args=(child,), daemon=True)
    server.start()
    base_url = parent.recv()
    rows: list[str] = []
    chunk_rows: list[str] = []
    with tempfile.TemporaryDirectory() as spool:
        modelmeter.instrument(spool=spool)
        clients = {
            "mock": (_client(base_url, False), _client(base_url, True), _reference_client(base_url)),
            "in-memory": (_canned_client(False), _canned_client(True), _reference_client(API, _CannedPool())),
        }
        for where, (bare, observed, reference) in clients.items():
            json_m = _paired(_json_call(bare), _json_call(observed), args.pairs, args.warmup)
            rows.append(_row(f"{where}, JSON chat completion", args.pairs, json_m))
            print(rows[-1], flush=True)
            yardstick = _paired(_json_call(bare), _json_call(reference), args.pairs, args.warmup)
            rows.append(_row(f"{where}, JSON, *reference: OTel httpx2 span*", args.pairs, yardstick))
            print(rows[-1], flush=True)
            streams = []
            for chunks in (CHUNKS, FEW_CHUNKS):
                case = (_stream_call(bare, chunks), _stream_call(observed, chunks))
                streams.append(_paired(*case, args.pairs, args.warmup))
                rows.append(_row(f"{where}, SSE stream of {chunks} chunks", args.pairs, streams[-1]))
                print(rows[-1], flush=True)
            chunk_rows.append(_chunk_row(where, json_m, *streams))
        modelmeter.uninstrument()
    parent.send("stop")
    server.join(timeout=5)

    print()
    print(
        "| case | calls (bare + instr.) | wall µs, bare → instr. | added wall µs/call "
        "| CPU µs, bare → instr. | added CPU µs/call "
        "| other threads' CPU µs/call (spool; reference: its exporter) |"
    )
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print()
    print(
        f"| per stream chunk | wall: {CHUNKS}-chunk stream / {CHUNKS} | wall: beyond JSON / {CHUNKS} "
        f"| wall: one more chunk | CPU: {CHUNKS}-chunk stream / {CHUNKS} | CPU: beyond JSON / {CHUNKS} "
        "| CPU: one more chunk |"
    )
    print("|---|---|---|---|---|---|---|")
    print("\n".join(chunk_rows))
    print()
    print(
        f"Python {platform.python_version()}, {platform.machine()}, {multiprocessing.cpu_count()} CPUs; "
        f"openai {version('openai')}, httpx2 {version('httpx2')}, "
        f"opentelemetry-sdk {version('opentelemetry-sdk')}, "
        f"genai-prices {version('genai-prices')}, modelmeter {modelmeter.__version__}; "
        f"{args.pairs} timed calls each way per case (+{args.warmup} untimed); "
        f"load average {os.getloadavg()[0]:.2f} at the end."
    )


if __name__ == "__main__":
    sys.exit(main())
