"""Benchmarks for ingest: spool -> DuckDB throughput and memory, and the OTLP receiver under load.

    .venv/bin/python bench/bench_ingest.py                 # 1M spans in 20 spool files + receiver 20k spans
    .venv/bin/python bench/bench_ingest.py --spans 20000 --receiver-spans 2000   # a quick look

Ingest runs in a fresh subprocess of its own so that its peak RSS (resource.getrusage) is ingest's
alone. The receiver test sends a fixed number of spans from several client threads over loopback,
then ingests what `serve` spooled and checks that every span arrived (zero loss).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import orjson

from modelmeter.record import RECORD_FIELDS

_MODELS = [
    ("openai", "openai", "gpt-4o-mini", "gpt-4o-mini-2024-07-18"),
    ("openai", "openai", "gpt-5", "gpt-5-2025-08-07"),
    ("anthropic", "anthropic", "claude-sonnet-4-5", "claude-sonnet-4-5-20250929"),
    ("anthropic", "aws.bedrock", "anthropic.claude-3-5-haiku-20241022-v1:0", None),
    ("google", "google", "gemini-2.5-flash", "gemini-2.5-flash"),
    ("google", "google", "gemini-2.5-pro", "gemini-2.5-pro"),
    ("mistral", "mistral", "mistral-large-latest", "mistral-large-2411"),
    ("deepseek", "deepseek", "deepseek-chat", "deepseek-chat"),
]
_WORKFLOWS = ["support-bot", "summarise", "search-rerank", "code-review", "nightly-eval", None]
_START_NS = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z


def synthetic_records(count: int, seed: int = 7) -> list[dict[str, object]]:
    """Realistic span records: several vendors and platforms, streams, errors and retried calls."""
    rng = random.Random(seed)
    out: list[dict[str, object]] = []
    week_ns = 7 * 86_400 * 10**9
    while len(out) < count:
        vendor, platform_name, request_model, response_model = rng.choice(_MODELS)
        tries = 2 if rng.random() < 0.04 else 1
        call_id = f"{rng.getrandbits(64):016x}"
        trace_id = f"{rng.getrandbits(128):032x}"
        start = _START_NS + rng.randrange(week_ns)
        for attempt in range(tries):
            failed = attempt < tries - 1
            duration_ns = rng.randrange(200, 9000) * 10**6
            input_tokens = rng.randrange(50, 30_000)
            cache_read = rng.randrange(0, input_tokens // 2) if rng.random() < 0.3 else 0
            output_tokens = rng.randrange(10, 2000)
            streaming = rng.random() < 0.5
            workflow = rng.choice(_WORKFLOWS)
            ttft_ms = rng.uniform(80, 900) if streaming else None
            record = dict.fromkeys(RECORD_FIELDS)
            record.update(
                trace_id=trace_id,
                span_id=f"{rng.getrandbits(64):016x}",
                name=f"chat {request_model}",
                start_ns=start,
                end_ns=start + duration_ns,
                duration_ms=duration_ns / 1e6,
                ttft_ms=ttft_ms,
                source="modelmeter",
                service="checkout-api",
                environment="prod",
                workflow=workflow,
                team="platform",
                route="direct",
                provider=vendor,
                platform=platform_name,
                operation="chat",
                request_model=request_model,
                response_model=None if failed else response_model,
                model=f"{vendor}/{request_model}",
                response_id=None if failed else f"resp_{rng.getrandbits(48):x}",
                streaming=streaming,
                status="error" if failed else "ok",
                http_status=529 if failed else 200,
                error_type="overloaded_error" if failed else None,
                finish_reason=None if failed else "stop",
                truncated=False,
                usage_known=not failed,
                input_tokens=None if failed else input_tokens,
                output_tokens=None if failed else output_tokens,
                cache_read_tokens=None if failed else cache_read,
                cache_write_tokens=None if failed else 0,
                reasoning_tokens=None if failed else 0,
                service_tier=None if failed else "default",
                cost_usd=None if failed else f"{(input_tokens + 4 * output_tokens) * 1.5e-7:.7f}",
                cost_source="unpriced" if failed else "genai-prices",
                key_fingerprint=f"{rng.getrandbits(48):012x}:{rng.randrange(10_000):04d}",
                auth_kind="openai-project-key",
                sdk="openai",
                sdk_version="3.57.0",
                server_address="api.example.com",
                request_id=f"req_{rng.getrandbits(48):x}",
                call_id=call_id,
                attempt=attempt,
                attributes=_shim_attributes(vendor, failed, ttft_ms, rng),
            )
            out.append({k: v for k, v in record.items() if v is not None})  # as the spool writes it
            start += duration_ns + 10**8
    return out[:count]


def _shim_attributes(
    vendor: str, failed: bool, ttft_ms: float | None, rng: random.Random
) -> dict[str, object]:
    """The `attributes` the shim writes for a call (see a real spool line): rate-limit headers, how a
    stream ended."""
    attributes: dict[str, object] = {
        "gen_ai.provider.name": vendor,
        "modelmeter.wire_family": "openai.chat",
        "server.port": 443,
    }
    if failed:
        return attributes
    limits = {"requests": 10_000, "tokens": 2_000_000}
    for kind, limit in limits.items():
        attributes[f"modelmeter.ratelimit.x-ratelimit-limit-{kind}"] = str(limit)
        attributes[f"modelmeter.ratelimit.x-ratelimit-remaining-{kind}"] = str(
            limit - rng.randrange(limit // 10)
        )
        attributes[f"modelmeter.ratelimit.x-ratelimit-reset-{kind}"] = f"{rng.randrange(1, 60)}ms"
    if ttft_ms is not None:
        attributes["modelmeter.end"] = "closed"
        attributes["gen_ai.response.time_to_first_chunk"] = ttft_ms / 1000
    return attributes


def write_spool(directory: Path, count: int, files: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    spans = synthetic_records(count)
    per_file = -(-count // files)
    for index in range(files):
        chunk = spans[index * per_file : (index + 1) * per_file]
        path = directory / f"spans-20260101T000000-bench-{os.getpid()}-{index:04d}.ndjson"
        path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in chunk))


_CHILD = """
import json, resource, sys, time
from pathlib import Path
from modelmeter.ingest.pipeline import ingest_paths
started = time.perf_counter()
summary = ingest_paths([Path(sys.argv[1])], Path(sys.argv[2]), batch_spans=int(sys.argv[3]))
elapsed = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": elapsed, "cpu_seconds": usage.ru_utime + usage.ru_stime,
                  "peak_rss_kb": usage.ru_maxrss, "calls": summary.calls_added,
                  "spans": summary.spans, "quarantined": summary.quarantined}))
"""


def bench_ingest(count: int, files: int, batch: int, work: Path) -> dict[str, object]:
    spool = work / "spool"
    # generated in a process of its own: Linux carries a parent's peak RSS into a forked child's
    # getrusage, so the parent must stay small for the ingest child's number to be its own
    generate = [
        sys.executable,
        __file__,
        "--generate",
        str(spool),
        "--spans",
        str(count),
        "--files",
        str(files),
    ]
    subprocess.run(generate, check=True)
    size = sum(p.stat().st_size for p in spool.iterdir())
    db = work / "bench.duckdb"
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(spool), str(db), str(batch)],
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(out.stdout)
    result.update(input_mb=size / 2**20, spans_per_s=count / result["seconds"], files=files, batch=batch)
    return result


_CEILING_CHILD = """
import json, resource, sys, time
from pathlib import Path
import duckdb
from modelmeter.ingest.load import STAGING_COLUMNS
spool, db, step = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
files = sorted(str(p) for p in spool.glob("*.ndjson"))
types = ", ".join(f"'{n}': '{t}'" for n, t in STAGING_COLUMNS.items())
source = f"read_json({files!r}, format='newline_delimited', columns={{{types}}})"
con = duckdb.connect(str(db))
con.execute("SET threads = 2; SET preserve_insertion_order = false; SET enable_progress_bar = false")
if step == "arrow":  # the rows as DuckDB would store them, already in memory: no parsing at all
    reader = duckdb.connect()
    reader.execute("SET enable_progress_bar = false")
    rows = reader.sql(f"SELECT * FROM {source}").to_arrow_table()
    source = "rows"
usage = resource.getrusage(resource.RUSAGE_SELF)
cpu, started = usage.ru_utime + usage.ru_stime, time.perf_counter()
con.execute(f"CREATE TABLE t AS SELECT * FROM {source}")
con.execute("CHECKPOINT")
elapsed = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_SELF)
count = con.execute("SELECT count(*) FROM t").fetchone()[0]
print(json.dumps({"step": step, "rows": count, "seconds": elapsed,
                  "cpu_seconds": usage.ru_utime + usage.ru_stime - cpu, "rows_per_s": count / elapsed}))
"""


def bench_ceiling(work: Path) -> list[dict[str, object]]:
    """DuckDB alone on the same spool: its plain load (parse and store), and storing the same rows
    from memory (no parsing): what any ingest into a `calls`-shaped table can at best reach here."""
    results = []
    for step in ("read_json", "arrow"):
        db = work / f"ceiling-{step}.duckdb"
        out = subprocess.run(
            [sys.executable, "-c", _CEILING_CHILD, str(work / "spool"), str(db), step],
            check=True,
            capture_output=True,
            text=True,
        )
        results.append(json.loads(out.stdout))
        db.unlink()
    return results


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _otlp_payload(records: list[dict[str, object]]) -> bytes:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest()
    scope_spans = request.resource_spans.add().scope_spans.add()
    scope_spans.scope.name = "bench.genai"
    for record in records:
        span = scope_spans.spans.add()
        span.trace_id = bytes.fromhex(str(record["trace_id"]))
        span.span_id = bytes.fromhex(str(record["span_id"]))
        span.name = str(record["name"])
        span.kind = 3
        span.start_time_unix_nano = int(str(record["start_ns"]))
        span.end_time_unix_nano = int(str(record["end_ns"]))
        for key, value in (
            ("gen_ai.operation.name", "chat"),
            ("gen_ai.provider.name", record["provider"]),
            ("gen_ai.request.model", record["request_model"]),
            ("gen_ai.usage.input_tokens", record.get("input_tokens") or 0),
            ("gen_ai.usage.output_tokens", record.get("output_tokens") or 0),
        ):
            attribute = span.attributes.add()
            attribute.key = key
            if isinstance(value, int):
                attribute.value.int_value = value
            else:
                attribute.value.string_value = str(value)
    return request.SerializeToString()


def bench_receiver(count: int, per_request: int, threads: int, work: Path) -> dict[str, object]:
    spool = work / "otlp-spool"
    port = _free_port()
    env = {**os.environ, "MODELMETER_SPOOL": str(spool)}
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("modelmeter")), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for_port(port)
        spans = [dict(r, call_id=None) for r in synthetic_records(count, seed=11)]
        bodies = [_otlp_payload(spans[i : i + per_request]) for i in range(0, count, per_request)]
        failures: list[str] = []

        def send(chunk: list[bytes]) -> None:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            for body in chunk:
                connection.request("POST", "/v1/traces", body, {"Content-Type": "application/x-protobuf"})
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    failures.append(str(response.status))
            connection.close()

        workers = [threading.Thread(target=send, args=(bodies[i::threads],)) for i in range(threads)]
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=10)
    from modelmeter.ingest.pipeline import ingest_paths

    summary = ingest_paths([spool], work / "receiver.duckdb")
    return {
        "spans": count,
        "requests": len(bodies),
        "threads": threads,
        "seconds": elapsed,
        "spans_per_s": count / elapsed,
        "failed_requests": len(failures),
        "calls_after_ingest": summary.calls_added,
        "lost": count - summary.calls_added,
    }


def _wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"serve did not listen on port {port}")


def versions() -> dict[str, str]:
    import duckdb
    import genai_prices

    return {
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "genai-prices": genai_prices.__version__,
        "cpus": str(os.cpu_count()),
        "machine": platform.machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--batch", type=int, default=250_000, help="spans per ingest transaction")
    parser.add_argument("--receiver-spans", type=int, default=20_000)
    parser.add_argument("--per-request", type=int, default=100)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--ceiling", action="store_true", help="also time DuckDB's own load of the spool")
    parser.add_argument("--generate", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        write_spool(args.generate, args.spans, args.files)
        return
    work = Path(tempfile.mkdtemp(prefix="modelmeter-bench-"))
    try:
        report: dict[str, object] = {"versions": versions()}
        if args.spans:
            report["ingest"] = bench_ingest(args.spans, args.files, args.batch, work)
            if args.ceiling:
                report["ceiling"] = bench_ceiling(work)
        if args.receiver_spans:
            report["receiver"] = bench_receiver(args.receiver_spans, args.per_request, args.threads, work)
        print(json.dumps(report, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
