"""`modelmeter serve`: an OTLP/HTTP trace receiver that writes what it accepts to the spool.

It answers 200 only once the request is on disk (written and fsynced), so an exporter never sees a
success for data a crash could lose. Concurrent requests share one fsync (group commit). It never
opens DuckDB: `ingest` reads its closed files later, like the shim's.

Spool files: `otlp-<UTC yyyymmddThhmmss>-<host>-<pid>-<seq>.otlp.open` while written, renamed to
`.otlp` when closed (on size, on age, at shutdown). Each record is one request body after
Content-Encoding was undone, behind a 4-byte big-endian length: the Collector's framing, which
`ingest` reads. Record bodies are OTLP protobuf or OTLP/JSON, told apart by their first byte.
"""

from __future__ import annotations

import gzip
import hmac
import ipaddress
import os
import socket
import struct
import threading
import time
import zlib
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

import orjson
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from modelmeter.ingest.otlp import PayloadError, decode_request

TRACES_PATH = "/v1/traces"
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
CONTENT_TYPES = {"application/x-protobuf": "protobuf", "application/json": "json"}
_FRAME = struct.Struct(">I")
_GRPC_INVALID_ARGUMENT = 3


class SpoolWriter:
    """Appends framed records to the current spool file; `append` returns once they are fsynced."""

    def __init__(
        self, directory: Path, *, max_file_bytes: int = 64 * 1024 * 1024, max_file_age: float = 10.0
    ):
        self.directory = directory
        self.max_file_bytes = max_file_bytes
        self.max_file_age = max_file_age
        self._lock = threading.Lock()
        self._synced = threading.Condition(self._lock)
        self._file: IO[bytes] | None = None
        self._path: Path | None = None
        self._opened_at = 0.0
        self._size = 0
        self._seq = 0
        self._written = 0  # records written since start (all files)
        self._durable = 0  # of those, how many are known to be fsynced
        self._syncing = False
        directory.mkdir(parents=True, exist_ok=True)

    def append(self, payload: bytes) -> None:
        with self._lock:
            handle = self._current_file()
            handle.write(_FRAME.pack(len(payload)) + payload)
            self._size += _FRAME.size + len(payload)
            self._written += 1
            mine = self._written
            while self._durable < mine:
                if self._syncing:
                    self._synced.wait()
                    continue
                self._sync_group(handle)
            if self._size >= self.max_file_bytes and not self._syncing:
                self._close_current()

    def _sync_group(self, handle: IO[bytes]) -> None:
        """Flush and fsync everything written so far, without blocking writers of the next group."""
        target = self._written
        self._syncing = True
        handle.flush()
        self._lock.release()
        try:
            os.fsync(handle.fileno())
        finally:
            self._lock.acquire()
            self._syncing = False
            self._durable = max(self._durable, target)
            self._synced.notify_all()

    def _current_file(self) -> IO[bytes]:
        if self._file is None:
            self._seq += 1
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            name = f"otlp-{stamp}-{socket.gethostname()}-{os.getpid()}-{self._seq}.otlp.open"
            self._path = self.directory / name
            self._file = self._path.open("ab")
            self._opened_at = time.monotonic()
            self._size = 0
        return self._file

    def _close_current(self) -> None:
        """Close and publish the current file (caller holds the lock, nothing is mid-sync)."""
        if self._file is None or self._path is None:
            return
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._durable = self._written
        self._synced.notify_all()
        self._path.rename(self._path.with_suffix(""))
        _fsync_dir(self.directory)
        self._file, self._path = None, None

    def rotate_if_old(self) -> None:
        """Publish a file that has been open long enough, so `ingest` sees data on quiet servers."""
        with self._lock:
            too_old = self._file is not None and time.monotonic() - self._opened_at >= self.max_file_age
            if too_old and not self._syncing and self._durable == self._written:
                self._close_current()

    def close(self) -> None:
        with self._lock:
            while self._syncing:
                self._synced.wait()
            self._close_current()


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: OtlpServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a receiver logs nothing per request."""

    def do_POST(self) -> None:
        encoding = CONTENT_TYPES.get(self.headers.get("Content-Type", "").split(";")[0].strip().lower())
        refusal = None
        if self.path.split("?")[0] != TRACES_PATH:
            refusal = (HTTPStatus.NOT_FOUND, "only POST /v1/traces is served")
        elif not self._authorised():
            refusal = (HTTPStatus.UNAUTHORIZED, "a valid bearer token is required")
        elif encoding is None:
            refusal = (HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "use application/x-protobuf or application/json")
        if refusal is not None or encoding is None:
            self._skip_body()
            self._fail(*(refusal or (HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "")), encoding or "json")
            return
        body = self._read_body(encoding)
        if body is None:
            return
        try:
            decoded = decode_request(body, encoding)
        except PayloadError as exc:
            self._fail(HTTPStatus.BAD_REQUEST, str(exc), encoding)
            return
        if decoded.spans or decoded.rejected:
            self.server.writer.append(body)
        self._succeed(encoding, len(decoded.rejected), "; ".join(decoded.rejected[:3]))

    def do_GET(self) -> None:
        self._fail(HTTPStatus.METHOD_NOT_ALLOWED, "only POST /v1/traces is served", "json")

    def _authorised(self) -> bool:
        token = self.server.token
        if not token:
            return True
        given = self.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())

    def _skip_body(self) -> None:
        """Keep the connection usable after a refusal: read a small body, else close after answering."""
        length = self.headers.get("Content-Length", "")
        if length.isdigit() and int(length) <= self.server.max_bytes:
            self.rfile.read(int(length))
        else:
            self.close_connection = True

    def _read_body(self, encoding: str) -> bytes | None:
        limit = self.server.max_bytes
        length_header = self.headers.get("Content-Length")
        chunked = self.headers.get("Transfer-Encoding", "").strip().lower() == "chunked"
        if chunked:
            try:
                raw = self._read_chunked(limit)
            except ValueError:
                self.close_connection = True
                self._fail(HTTPStatus.BAD_REQUEST, "malformed chunked body", encoding)
                return None
            if raw is None:
                self.close_connection = True
                self._fail(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body over {limit} bytes", encoding)
                return None
        elif length_header is None or not length_header.isdigit():
            self.close_connection = True
            self._fail(HTTPStatus.LENGTH_REQUIRED, "Content-Length is required", encoding)
            return None
        elif int(length_header) > limit:
            self.close_connection = True
            self._fail(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body over {limit} bytes", encoding)
            return None
        else:
            raw = self.rfile.read(int(length_header))
        content_encoding = self.headers.get("Content-Encoding", "identity").strip().lower()
        if content_encoding in ("", "identity"):
            return raw
        if content_encoding != "gzip":
            self._fail(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                f"unsupported Content-Encoding {content_encoding}",
                encoding,
            )
            return None
        try:
            body = _gunzip(raw, limit)
        except (OSError, EOFError, zlib.error):
            self._fail(HTTPStatus.BAD_REQUEST, "corrupt gzip body", encoding)
            return None
        if body is None:
            self._fail(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body over {limit} bytes once decompressed", encoding
            )
        return body

    def _read_chunked(self, limit: int) -> bytes | None:
        """A `Transfer-Encoding: chunked` body, as Node's OTLP exporter sends; None once over `limit`.

        Raises ValueError on a malformed chunk size line.
        """
        chunks: list[bytes] = []
        total = 0
        while True:
            size = int(self.rfile.readline(1024).split(b";")[0].strip(), 16)
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers, then the blank line
                    pass
                return b"".join(chunks)
            total += size
            if total > limit:
                return None
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)  # the CRLF after each chunk

    def _succeed(self, encoding: str, rejected: int, message: str) -> None:
        response = ExportTraceServiceResponse()
        if rejected:
            response.partial_success.rejected_spans = rejected
            response.partial_success.error_message = message
        if encoding == "json":
            partial = (
                {"partialSuccess": {"rejectedSpans": str(rejected), "errorMessage": message}}
                if rejected
                else {}
            )
            self._send(HTTPStatus.OK, orjson.dumps(partial), "application/json")
        else:
            self._send(HTTPStatus.OK, response.SerializeToString(), "application/x-protobuf")

    def _fail(self, status: HTTPStatus, message: str, encoding: str) -> None:
        if encoding == "json":
            self._send(
                status, orjson.dumps({"code": _GRPC_INVALID_ARGUMENT, "message": message}), "application/json"
            )
        else:
            body = Status(code=_GRPC_INVALID_ARGUMENT, message=message).SerializeToString()
            self._send(status, body, "application/x-protobuf")

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


def _gunzip(raw: bytes, limit: int) -> bytes | None:
    """Decompress with a cap: None when the result would exceed `limit` (a gzip bomb is refused)."""
    decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    out = decompressor.decompress(raw, limit + 1)
    if len(out) > limit or decompressor.unconsumed_tail:
        return None
    if not decompressor.eof:
        raise EOFError("truncated gzip body")
    if decompressor.unused_data:  # several gzip members
        rest = gzip.decompress(decompressor.unused_data)
        out += rest
        if len(out) > limit:
            return None
    return out


class OtlpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], writer: SpoolWriter, *, token: str | None, max_bytes: int):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        self.writer = writer
        self.token = token
        self.max_bytes = max_bytes


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond loopback without a token: span data names keys, teams and workflows."""
    if not is_loopback(host) and not token:
        raise PermissionError(
            f"refusing to listen on {host} without a bearer token: pass --token or set "
            "MODELMETER_SERVE_TOKEN (only 127.0.0.1 / ::1 / localhost may run without one)"
        )


def serve(
    host: str,
    port: int,
    spool_dir: Path,
    *,
    token: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    rotate_seconds: float = 10.0,
    ready: threading.Event | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Run the receiver until `stop` is set (or forever); closes the spool file on the way out."""
    check_bind(host, token)
    writer = SpoolWriter(spool_dir, max_file_age=rotate_seconds)
    server = OtlpServer((host, port), writer, token=token, max_bytes=max_bytes)
    stop = stop or threading.Event()
    rotator = threading.Thread(target=_rotate_until, args=(writer, stop, rotate_seconds), daemon=True)
    rotator.start()
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    serving.start()
    if ready is not None:
        ready.set()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.shutdown()
        server.server_close()
        writer.close()


def _rotate_until(writer: SpoolWriter, stop: threading.Event, every: float) -> None:
    while not stop.wait(min(every, 1.0)):
        writer.rotate_if_old()
