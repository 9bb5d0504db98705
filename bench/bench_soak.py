"""Soak: `modelmeter serve` under a bounded load on loopback, killed with SIGKILL and restarted every
few seconds, its disk full for part of the run; then `ingest`, and a count of what arrived.

    .venv/bin/python bench/bench_soak.py                       # 180 s, kill every 5 s, disk full 20% of it
    .venv/bin/python bench/bench_soak.py --seconds 30          # a quick look

Goals: every span answered 200 is in `calls` after ingest (lost 0), none twice (duplicated 0).
Also reported: requests answered 503 (full disk, or in flight at a kill), p99 time to acknowledge,
peak RSS of any `serve` process. The spool lives on its own tmpfs (needs root; without it the
full-disk part is left out and said so); it is filled to the last byte for the full-disk part.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.disk import fill  # the tests' helper: fill a disk to the last byte

CLI = str(Path(sys.executable).with_name("modelmeter"))
_ids = iter(range(1, 1 << 62))
_id_lock = threading.Lock()


def _new_id(size: int) -> str:
    with _id_lock:
        return f"{next(_ids):0{size * 2}x}"


def _request(spans: int) -> tuple[bytes, list[str]]:
    """An OTLP/JSON request of `spans` GenAI spans with fresh ids."""
    now = time.time_ns()
    items, ids = [], []
    for _ in range(spans):
        span_id = _new_id(8)
        ids.append(span_id)
        items.append(
            {
                "traceId": _new_id(16),
                "spanId": span_id,
                "name": "chat gpt-4o-mini",
                "kind": 3,
                "startTimeUnixNano": str(now),
                "endTimeUnixNano": str(now + 700_000_000),
                "attributes": [
                    {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                    {"key": "gen_ai.provider.name", "value": {"stringValue": "openai"}},
                    {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}},
                    {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "1200"}},
                    {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "300"}},
                ],
                "status": {"code": 1},
            }
        )
    request = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "soak"}}]},
                "scopeSpans": [{"scope": {"name": "opentelemetry.instrumentation.openai"}, "spans": items}],
            }
        ]
    }
    return orjson.dumps(request), ids


class Server:
    def __init__(self, spool: Path, port: int) -> None:
        self.port = port
        env = {**os.environ, "MODELMETER_SPOOL": str(spool)}
        self.process = subprocess.Popen(
            [CLI, "serve", "--port", str(port), "--rotate-seconds", "2"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            time.sleep(0.02)
        raise RuntimeError("serve did not start")

    def peak_rss_kib(self) -> int:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return 0


class Load:
    """`clients` threads, each sending at most `rate` requests a second (a bounded load)."""

    def __init__(self, url: str, clients: int, rate: float, spans: int) -> None:
        self.url, self.rate, self.spans = url, rate, spans
        self.acknowledged: list[str] = []
        self.latencies: list[float] = []
        self.statuses: dict[str, int] = {}
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def join(self) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _count(self, what: str) -> None:
        self.statuses[what] = self.statuses.get(what, 0) + 1

    def _run(self) -> None:
        with httpx.Client(timeout=15) as client:
            while not self.stop.is_set():
                started = time.monotonic()
                body, ids = _request(self.spans)
                try:
                    answer = client.post(self.url, content=body, headers={"Content-Type": "application/json"})
                except httpx.HTTPError:
                    with self._lock:
                        self._count("no answer")
                    time.sleep(0.05)
                    continue
                took = time.monotonic() - started
                with self._lock:
                    self._count(str(answer.status_code))
                    if answer.status_code == 200:
                        self.acknowledged += ids
                        self.latencies.append(took)
                self.stop.wait(max(0.0, 1 / self.rate - took))


@contextlib.contextmanager
def spool_disk(directory: Path, size: str) -> Iterator[bool]:
    """A tmpfs of `size` on `directory` when this process may mount one; yields whether it did."""
    directory.mkdir(parents=True, exist_ok=True)
    mounted = os.geteuid() == 0 and (
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)]).returncode
        == 0
    )
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(directory)], check=False)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--kill-every", type=float, default=5)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rate", type=float, default=50, help="requests a second per client, at most")
    parser.add_argument("--spans", type=int, default=5, help="spans per request")
    parser.add_argument("--full-disk", type=float, default=0.2, help="share of the run the disk is full")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="modelmeter-soak-"))
    spool_root, db = work / "disk", work / "soak.duckdb"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with spool_disk(spool_root, "512m") as on_tmpfs:
        spool = spool_root / "spool"
        server = Server(spool, port)
        load = Load(f"http://127.0.0.1:{port}/v1/traces", args.clients, args.rate, args.spans)
        load.start()
        started = time.monotonic()
        full_from = args.seconds * 0.4
        full_until = full_from + args.seconds * args.full_disk
        kills, peak_rss, filler = 0, 0, None
        next_kill = started + args.kill_every
        while (now := time.monotonic()) - started < args.seconds:
            elapsed = now - started
            if on_tmpfs and filler is None and full_from <= elapsed < full_until:
                filler = fill(spool_root)
            elif filler is not None and elapsed >= full_until:
                filler.unlink()
                filler = None
            if now >= next_kill:
                peak_rss = max(peak_rss, server.peak_rss_kib())
                server.process.kill()
                server.process.wait()
                kills += 1
                server = Server(spool, port)
                next_kill = time.monotonic() + args.kill_every
            time.sleep(0.05)
        if filler is not None:
            filler.unlink()
        load.join()
        peak_rss = max(peak_rss, server.peak_rss_kib())
        server.process.kill()  # the last one too: ingest must recover its open file
        server.process.wait()
        ingest_started = time.monotonic()
        done = subprocess.run(
            [CLI, "ingest", str(spool), "--db", str(db), "-q"], capture_output=True, text=True
        )
        ingest_seconds = time.monotonic() - ingest_started
        if done.returncode not in (0, 3):
            raise SystemExit(f"ingest failed: {done.stderr}")
    con = duckdb.connect(str(db), read_only=True)
    stored = [row[0] for row in con.execute("SELECT span_id FROM calls").fetchall()]
    con.close()
    acknowledged = set(load.acknowledged)
    stored_set = set(stored)
    latencies = sorted(load.latencies)
    result = {
        "seconds": args.seconds,
        "kills": kills,
        "full_disk_seconds": round(args.seconds * args.full_disk, 1) if on_tmpfs else 0,
        "requests": load.statuses,
        "spans_acknowledged": len(acknowledged),
        "acknowledged_in_calls": len(acknowledged & stored_set),
        "lost": len(acknowledged - stored_set),
        "duplicated": len(stored) - len(stored_set),
        "calls_total": len(stored),
        "p50_ack_ms": round(latencies[len(latencies) // 2] * 1000, 1) if latencies else None,
        "p99_ack_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 1) if latencies else None,
        "peak_rss_mib": round(peak_rss / 1024, 1),
        "ingest_seconds": round(ingest_seconds, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }
    print(json.dumps(result, indent=2))
    if result["lost"] or result["duplicated"]:
        raise SystemExit("goal missed: spans lost or duplicated")


if __name__ == "__main__":
    main()
