"""Time the shim adds to an AI call: the real openai SDK, bare against instrumented, in one process.

    .venv/bin/python bench/bench_shim.py                  # the numbers in BENCHMARKS.md
    .venv/bin/python bench/bench_shim.py --rounds 6 --calls 40   # a quick look

Two measurements, both interleaving bare and instrumented rounds in one process
(`modelmeter.instrument()` / `uninstrument()` between rounds, order alternating, the first calls of
each round untimed) so that drift hits both alike:

1. against the mock: `modelmeter.mock` serves in a separate process over loopback; one JSON chat
   completion, and SSE streams of 50 and of 5 content chunks (`include_usage`), read to the end;
2. client-side CPU only: the same SDK calls, but the httpx2 connection pool answers with canned
   bytes from memory (no sockets, no server), which isolates the shim's own cost per call and
   per chunk from network noise.

The instrumented side is the default setup: a private TracerProvider whose only consumer is the
spool (written to a temporary directory). Reported: pooled medians of per-call times in µs per
side, and what the shim adds as the median over round pairs of the difference of the two rounds'
medians (see `_result`); the difference of mean per-call process CPU as well, because the spool
thread's work comes in batches that a median of per-call times leaves out (the mean counts it,
along with garbage collections); and per stream
chunk three figures: the 50-chunk stream's added time / 50 (per-call costs included); (stream added
- JSON added) / 50 (per-stream costs such as time to first token and the stream's end included);
and the cost of one more chunk, (50-chunk stream added - 5-chunk stream added) / 45, which is what
the goal of at most 2 µs per chunk is judged on.
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import httpcore2
import httpx2
import openai

import modelmeter

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


def _canned_client() -> openai.OpenAI:
    transport = httpx2.HTTPTransport()
    transport._pool = _CannedPool()  # type: ignore[assignment]
    http_client = httpx2.Client(transport=transport)
    return openai.OpenAI(
        base_url="https://api.openai.com/v1",
        api_key="sk-proj-FAKE0000000000",
        max_retries=0,
        http_client=http_client,
    )


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


def _time(call: Callable[[], None], n: int, warmup: int) -> Iterator[Sample]:
    """Time n calls, after `warmup` untimed ones (a switch between bare and instrumented leaves the
    first calls after it slower on both sides: caches refill, threads start and stop)."""
    for _ in range(warmup):
        call()
    for _ in range(n):
        c0, t0 = time.process_time(), time.perf_counter()
        call()
        yield (time.perf_counter() - t0) * 1e6, (time.process_time() - c0) * 1e6


RoundPair = tuple[list[Sample], list[Sample]]  # one bare round and the instrumented round beside it


def _interleaved(
    call: Callable[[], None], rounds: int, calls: int, warmup: int, spool: str
) -> list[RoundPair]:
    pairs: list[RoundPair] = []
    for r in range(rounds):
        order = (False, True) if r % 2 == 0 else (True, False)
        samples: dict[bool, list[Sample]] = {}
        for on in order:
            if on:
                modelmeter.instrument(spool=spool)
            samples[on] = list(_time(call, calls, warmup))
            if on:
                modelmeter.uninstrument()
        pairs.append((samples[False], samples[True]))
    return pairs


@dataclass(frozen=True)
class Result:
    """One case: pooled medians per side, and what the shim adds (wall, CPU, CPU mean)."""

    bare_wall: float
    instrumented_wall: float
    bare_cpu: float
    instrumented_cpu: float
    added_wall: float
    added_cpu: float
    added_cpu_mean: float


def _result(pairs: list[RoundPair]) -> Result:
    """The added figures are medians over round pairs of (instrumented round's median - bare round's
    median): this machine's speed shifts by up to 2x between phases of a minute, which a difference
    of two pooled medians takes in whenever the phases fall unevenly on the two sides; a pair's two
    rounds run seconds apart, in the same phase. The CPU mean figure (which counts the spool thread's
    batched work) is the difference of the pooled means."""
    bare = [s for b, _ in pairs for s in b]
    instrumented = [s for _, i in pairs for s in i]

    def added(field: int) -> float:
        return statistics.median(
            statistics.median(s[field] for s in i) - statistics.median(s[field] for s in b) for b, i in pairs
        )

    return Result(
        statistics.median(s[0] for s in bare),
        statistics.median(s[0] for s in instrumented),
        statistics.median(s[1] for s in bare),
        statistics.median(s[1] for s in instrumented),
        added(0),
        added(1),
        statistics.fmean(s[1] for s in instrumented) - statistics.fmean(s[1] for s in bare),
    )


def _row(label: str, calls: int, r: Result) -> str:
    """One table row: pooled medians bare and instrumented, and what the shim adds."""
    cells = [label, f"{calls} + {calls}", f"{r.bare_wall:,.0f} → {r.instrumented_wall:,.0f}"]
    cells += [f"**{r.added_wall:+,.1f}**", f"{r.bare_cpu:,.0f} → {r.instrumented_cpu:,.0f}"]
    cells += [f"**{r.added_cpu:+,.1f}**", f"{r.added_cpu_mean:+,.1f}"]
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
    parser.add_argument("--rounds", type=int, default=30, help="bare/instrumented round pairs")
    parser.add_argument("--calls", type=int, default=40, help="timed calls per round")
    parser.add_argument("--warmup", type=int, default=30, help="untimed calls at the start of each round")
    args = parser.parse_args()

    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_serve_mock, args=(child,), daemon=True)
    server.start()
    base_url = parent.recv()
    rows: list[str] = []
    chunk_rows: list[str] = []
    with tempfile.TemporaryDirectory() as spool:
        mock_client = openai.OpenAI(base_url=base_url, api_key="sk-proj-FAKE0000000000", max_retries=0)
        canned = _canned_client()
        timing = (args.rounds, args.calls, args.warmup, spool)
        for where, client in (("mock", mock_client), ("in-memory", canned)):
            json_m = _result(_interleaved(_json_call(client), *timing))
            rows.append(_row(f"{where}, JSON chat completion", args.rounds * args.calls, json_m))
            print(rows[-1], flush=True)
            streams = []
            for chunks in (CHUNKS, FEW_CHUNKS):
                streams.append(_result(_interleaved(_stream_call(client, chunks), *timing)))
                rows.append(
                    _row(f"{where}, SSE stream of {chunks} chunks", args.rounds * args.calls, streams[-1])
                )
                print(rows[-1], flush=True)
            chunk_rows.append(_chunk_row(where, json_m, *streams))
    parent.send("stop")
    server.join(timeout=5)

    print()
    print(
        "| case | calls (bare + instr.) | wall µs, bare → instr. | added wall µs/call "
        "| CPU µs, bare → instr. | added CPU µs/call | added CPU µs/call, mean |"
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
        f"{args.rounds} round pairs x {args.calls} timed calls (+{args.warmup} untimed each); "
        f"load average {os.getloadavg()[0]:.2f} at the end."
    )


if __name__ == "__main__":
    sys.exit(main())
