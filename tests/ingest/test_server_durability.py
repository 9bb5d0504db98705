"""`modelmeter serve` when things go wrong: kill -9 under load, a full disk, SIGTERM, hostile
clients and spans `ingest` could not load. Real processes, real signals, a real full disk."""

from __future__ import annotations

import gzip
import socket
import threading
import time
import zlib
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from support.disk import fill, tiny_disk
from support.ingest import rows, run_cli
from support.otlp import genai_current, otlp_json, span
from support.serve import Receiver, free_port

JSON = {"Content-Type": "application/json"}
SPANS_PER_REQUEST = 5


class Load:
    """Clients posting distinct GenAI spans in a loop; remembers which spans were answered 200."""

    def __init__(self, url: str, clients: int = 4) -> None:
        self.url = url
        self.acknowledged: set[str] = set()
        self.statuses: dict[int, int] = {}
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set():
                spans = [span(genai_current()) for _ in range(SPANS_PER_REQUEST)]
                started = time.monotonic()
                try:
                    answer = client.post(self.url, content=orjson.dumps(otlp_json(spans)), headers=JSON)
                except httpx.HTTPError:
                    time.sleep(0.02)  # refused or cut off by a kill: not acknowledged
                    continue
                with self._lock:
                    self.statuses[answer.status_code] = self.statuses.get(answer.status_code, 0) + 1
                    if answer.status_code == 200:
                        self.acknowledged.update(s["span_id"] for s in spans)
                        self.latencies.append(time.monotonic() - started)
                if answer.status_code == 503:
                    assert answer.headers["retry-after"]
                    time.sleep(0.05)

    def wait_for(self, acknowledged: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acknowledged) < acknowledged and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.acknowledged) >= acknowledged, self.statuses


def _ingest(spool: Path, db: Path, codes: tuple[int, ...] = (0, 3)) -> None:
    """Ingest via the CLI; 3 (quarantined input) is expected where a kill may have torn a record."""
    done = run_cli("ingest", str(spool), "--db", str(db), timeout=120)
    assert done.returncode in codes, done.stderr
    assert "Traceback" not in done.stderr


def _calls(db: Path) -> list[str]:
    return [r[0] for r in rows(db, "SELECT span_id FROM calls")]


@pytest.mark.parametrize("restart", [False, True], ids=["killed", "killed-and-restarted"])
def test_after_kill_9_under_load_every_acknowledged_span_is_in_calls_exactly_once(
    tmp_path: Path, restart: bool
) -> None:
    spool, db = tmp_path / "spool", tmp_path / "db.duckdb"
    port = free_port()
    server = Receiver(spool, "--rotate-seconds", "0.5", port=port)
    with Load(server.url) as load:
        load.wait_for(400)
        server.kill()  # in the middle of the load: requests in flight are cut
        at_kill = len(load.acknowledged)
        if restart:
            server = Receiver(spool, port=port)
            load.wait_for(at_kill + 400)
            server.kill()
    assert list(spool.glob("*.open")), "the kill left an open file behind (what this test is about)"

    _ingest(spool, db)

    stored = _calls(db)
    assert len(stored) == len(set(stored)), "a span was stored twice"
    missing = load.acknowledged - set(stored)
    assert not missing, f"{len(missing)} of {len(load.acknowledged)} acknowledged spans are not in calls"
    assert not list(spool.glob("*.open"))


def test_a_full_disk_is_503_with_retry_after_never_a_hang_and_serve_recovers_when_space_returns(
    tmp_path: Path,
) -> None:
    db = tmp_path / "db.duckdb"
    with tiny_disk(tmp_path / "disk") as disk:
        spool = disk / "spool"
        server = Receiver(spool, max_bytes=100_000)
        with Load(server.url, clients=3) as load:
            load.wait_for(50)
            filler = fill(disk)
            time.sleep(2)  # every request now fails to persist
            during = dict(load.statuses)
            before_503 = load.statuses.get(503, 0)
            assert before_503 > 0, load.statuses
            filler.unlink()  # space returns: the same process takes writes again
            acknowledged = len(load.acknowledged)
            load.wait_for(acknowledged + 100)
        assert set(load.statuses) <= {200, 503}, load.statuses  # never dropped, never a 5xx but 503
        assert during.get(503), during
        # SIGTERM ends it within seconds, even right after a full disk
        filler = fill(disk)
        assert server.stop() < 5
        filler.unlink()
        assert "Traceback" not in server.log()
        _ingest(spool, db, codes=(0,))  # every failed write was rolled back: nothing to quarantine
    stored = _calls(db)
    assert len(stored) == len(set(stored))
    assert not load.acknowledged - set(stored)


def test_sigterm_flushes_and_ends_serve_within_seconds_with_clients_connected(tmp_path: Path) -> None:
    server = Receiver(tmp_path / "spool")
    idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(5)]
    half = socket.create_connection(("127.0.0.1", server.port))
    half.sendall(
        b"POST /v1/traces HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 900\r\n\r\n{"
    )
    with Load(server.url, clients=2) as load:
        load.wait_for(50)
        took = server.stop()
    assert took < 5
    assert server.process.returncode == 0
    assert not list((tmp_path / "spool").glob("*.open")), "the current file was sealed on the way out"
    for connection in [*idle, half]:
        connection.close()
    _ingest(tmp_path / "spool", tmp_path / "db.duckdb", codes=(0,))
    assert not load.acknowledged - set(_calls(tmp_path / "db.duckdb"))


def _bomb(decompressed: int) -> bytes:
    """A gzip member that inflates to `decompressed` zero bytes (about 1/1000 of that on the wire)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1 << 20)
    parts = [compressor.compress(block) for _ in range(decompressed >> 20)]
    return b"".join(parts) + compressor.flush()


def test_every_gzip_member_counts_toward_the_limit_and_a_bomb_costs_no_memory(tmp_path: Path) -> None:
    server = Receiver(tmp_path / "spool", max_bytes=16 << 20)
    bomb = _bomb(256 << 20)  # 256 MiB once inflated, about 256 KiB sent
    small = gzip.compress(orjson.dumps(otlp_json([span(genai_current())])))
    gzipped = {**JSON, "Content-Encoding": "gzip"}
    try:
        with httpx.Client(timeout=60) as client:
            assert client.post(server.url, content=small, headers=gzipped).status_code == 200
            idle_peak = server.rss_kib("VmHWM")
            second_member = client.post(server.url, content=small + bomb, headers=gzipped)
            many_members = client.post(server.url, content=small + _bomb(1 << 20) * 20, headers=gzipped)
            first_member = client.post(server.url, content=bomb, headers=gzipped)
            peak = server.rss_kib("VmHWM")
    finally:
        server.stop()
    assert (second_member.status_code, first_member.status_code) == (413, 413)
    # 21 members, each under the limit once inflated, are over it together
    assert many_members.status_code == 413
    assert peak - idle_peak < 8 * 1024, f"peak RSS grew by {(peak - idle_peak) / 1024:.1f} MiB"
    assert len(list((tmp_path / "spool").glob("*.otlp"))) == 1


def test_a_compressed_body_that_does_not_say_so_is_refused_not_inflated(tmp_path: Path) -> None:
    server = Receiver(tmp_path / "spool")
    try:
        with httpx.Client() as client:
            hidden = client.post(server.url, content=_bomb(64 << 20), headers=JSON)
            unknown = client.post(server.url, content=b"{}", headers={**JSON, "Content-Encoding": "br"})
    finally:
        server.stop()
    assert hidden.status_code == 400 and "Content-Encoding" in hidden.json()["message"]
    assert unknown.status_code == 415


def _cut_off_after(connection: socket.socket, trickle: bytes) -> float:
    """Send `trickle` a byte a second until the server closes; seconds until it did."""
    started = time.monotonic()
    connection.settimeout(1.0)
    for byte in trickle:
        try:
            connection.sendall(bytes([byte]))
            if connection.recv(4096) == b"":
                break
        except TimeoutError:
            continue
        except OSError:
            break
    return time.monotonic() - started


def test_slow_clients_are_cut_off_for_headers_and_for_the_body(tmp_path: Path) -> None:
    server = Receiver(tmp_path / "spool")
    head = b"POST /v1/traces HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 9000\r\n\r\n"
    results: dict[str, float] = {}

    def headers() -> None:
        results["headers"] = _cut_off_after(socket.create_connection(("127.0.0.1", server.port)), head * 2)

    def body() -> None:
        connection = socket.create_connection(("127.0.0.1", server.port))
        connection.sendall(head)
        results["body"] = _cut_off_after(connection, b"x" * 9000)

    try:
        threads = [threading.Thread(target=headers), threading.Thread(target=body)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=90)
        with httpx.Client() as client:  # meanwhile and after, others are served
            assert (
                client.post(server.url, content=orjson.dumps(otlp_json([])), headers=JSON).status_code == 200
            )
    finally:
        server.stop()
    assert results["headers"] < 15, results  # the header deadline is 10 s
    assert results["body"] < 35, results  # the body deadline is 30 s
    assert not list((tmp_path / "spool").glob("*.otlp*")), "a cut-off request wrote nothing"
    log = server.log()
    assert "Traceback" not in log
    assert "nothing was written" in log


def test_a_client_that_hangs_up_mid_body_gets_nothing_written_and_one_log_line(tmp_path: Path) -> None:
    server = Receiver(tmp_path / "spool")
    body = orjson.dumps(otlp_json([span(genai_current()) for _ in range(20)]))
    try:
        for _ in range(3):
            connection = socket.create_connection(("127.0.0.1", server.port))
            connection.sendall(
                b"POST /v1/traces HTTP/1.1\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body[: len(body) // 2]
            )
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")  # RST
            connection.close()
        time.sleep(0.5)
        with httpx.Client() as client:
            assert client.post(server.url, content=body, headers=JSON).status_code == 200
    finally:
        server.stop()
    records = [p for p in (tmp_path / "spool").glob("*.otlp")]
    assert len(records) == 1 and records[0].stat().st_size == len(body) + 4, "only the whole request"
    log = server.log()
    assert "Traceback" not in log
    assert log.count("nothing was written") == 3


def _otlp_span(**changes: Any) -> dict[str, Any]:
    request = otlp_json([span(genai_current())])
    one = request["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    one.update(changes)
    return one


def test_spans_ingest_could_not_load_are_rejected_at_the_edge_and_the_rest_ingests(tmp_path: Path) -> None:
    server = Receiver(tmp_path / "spool")
    good = [_otlp_span() for _ in range(3)]
    huge_int = _otlp_span(attributes=[{"key": "gen_ai.request.seed", "value": {"intValue": str(2**70)}}])
    huge_int["attributes"] += _otlp_span()["attributes"]
    no_key = _otlp_span(attributes=[{"value": {"stringValue": "x"}}])
    late = _otlp_span(startTimeUnixNano=str(2**64 + 5))
    never = _otlp_span(startTimeUnixNano="0")
    tokens = _otlp_span()
    tokens["attributes"] = [
        a if a["key"] != "gen_ai.usage.input_tokens" else {**a, "value": {"intValue": str(2**63 + 1)}}
        for a in tokens["attributes"]
    ]

    def request(spans: list[dict[str, Any]]) -> bytes:
        whole = otlp_json([span(genai_current())])
        whole["resourceSpans"][0]["scopeSpans"][0]["spans"] = spans
        return orjson.dumps(whole)

    try:
        with httpx.Client() as client:
            mixed = client.post(
                server.url, content=request([*good, huge_int, no_key, late, never, tokens]), headers=JSON
            )
            unusable = client.post(server.url, content=request([no_key, huge_int]), headers=JSON)
    finally:
        server.stop()
    assert mixed.status_code == 200
    assert mixed.json()["partialSuccess"]["rejectedSpans"] == "5"
    assert unusable.status_code == 400 and "no usable span" in unusable.json()["message"]
    db = tmp_path / "db.duckdb"
    done = run_cli("ingest", str(tmp_path / "spool"), "--db", str(db))
    assert done.returncode == 3 and "Traceback" not in done.stderr  # 3: the rejected ones quarantined
    assert sorted(_calls(db)) == sorted(s["spanId"] for s in good)
    assert rows(db, "SELECT count(*) FROM quarantine") == [(5,)]
    again = run_cli("ingest", str(tmp_path / "spool"), "--db", str(db))
    assert again.returncode == 0, again.stderr  # a bad span never blocks a later run


def test_serve_recovers_files_left_open_by_dead_writers_on_start(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    first = Receiver(spool)
    with httpx.Client() as client:
        body = orjson.dumps(otlp_json([span(genai_current())]))
        assert client.post(first.url, content=body, headers=JSON).status_code == 200
    first.kill()
    left = list(spool.glob("*.open"))
    assert len(left) == 1
    with left[0].open("ab") as torn:  # as if it died in the middle of the next record
        torn.write(b"\0\0\1\0{half")
    second = Receiver(spool)
    try:
        deadline = time.monotonic() + 10
        while left[0].exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not left[0].exists()
        sealed = left[0].with_name(left[0].name.removesuffix(".open"))
        assert sealed.stat().st_size == len(body) + 4
        quarantined = list((spool / "quarantine").iterdir())
        assert [q.read_bytes() for q in quarantined] == [b"\0\0\1\0{half"]
        assert quarantined[0].name == f"{sealed.name}.torn-at-{len(body) + 4}"
        assert f"offset {len(body) + 4}" in second.log()
    finally:
        second.stop()
    for path in [spool, spool / "quarantine", *spool.rglob("*")]:
        assert path.stat().st_mode & 0o777 == (0o700 if path.is_dir() else 0o600), path


def test_client_errors_are_one_log_line_each_never_a_traceback(tmp_path: Path) -> None:
    server = Receiver(tmp_path / "spool")
    body = orjson.dumps(otlp_json([span(genai_current()) for _ in range(50)]))
    try:
        for _ in range(5):  # send a whole request and reset before reading the answer
            connection = socket.create_connection(("127.0.0.1", server.port))
            connection.sendall(
                b"POST /v1/traces HTTP/1.1\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
            connection.close()
        time.sleep(1)
    finally:
        server.stop()
    assert "Traceback" not in server.log()
