"""`modelmeter serve`: an OTLP/HTTP trace receiver that writes what it accepts to the spool.

It answers 200 only once the request is on disk (written and fsynced), so an exporter never sees a
success for data a crash could lose; when it cannot make a request durable (full disk, I/O error,
shutting down) it answers 503 with `Retry-After`, which OTLP exporters retry. Concurrent requests
share one fsync (group commit). Every span is checked at the edge with the same check `ingest` runs
(records.record_of_span): a request with no usable span gets 400, one with some bad spans a partial
success naming them, so nothing acknowledged can stop `ingest` later. It never opens DuckDB.

What a client can make it do is bounded: the body (before and after Content-Encoding, across every
gzip member), the time to send headers and body, and an idle connection's life.

Spool files (modelmeter/spoolfile.py): `otlp-<UTC yyyymmddThhmmss>-<host>-<pid>-<seq>.otlp.open`
while written, `.otlp` once sealed (on size, on age, at shutdown); on start, files left `.open` by
a process that is gone are sealed. Each record is one request body after Content-Encoding was
undone, behind a 4-byte big-endian length (the Collector's framing, which `ingest` reads); bodies
are OTLP protobuf or OTLP/JSON, told apart by their first byte.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import logging
import socket
import struct
import sys
import threading
import time
import zlib
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from modelmeter import spoolfile
from modelmeter.ingest import records
from modelmeter.ingest.otlp import GZIP_MAGIC, ZSTD_MAGIC, PayloadError, decode_request

log = logging.getLogger("modelmeter.serve")

TRACES_PATH = "/v1/traces"
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
DEFAULT_ROTATE_BYTES = 64 * 1024 * 1024
DEFAULT_ROTATE_SECONDS = 10.0
HEADER_SECONDS = 10.0  # to send the request line and headers (also a keep-alive connection's idle life)
BODY_SECONDS = 30.0  # to send the body
IDLE_SECONDS = 10.0  # for any single read or write on the socket
RETRY_AFTER_SECONDS = 2
CONTENT_TYPES = {"application/x-protobuf": "protobuf", "application/json": "json"}
_FRAME = struct.Struct(">I")
_GRPC_INVALID_ARGUMENT = 3
_GRPC_UNAVAILABLE = 14
_READ_CHUNK = 64 * 1024


class OtlpSpool:
    """Appends framed request bodies to the current spool file; `append` returns once they are
    fsynced, or raises OSError when they could not be made durable (then the caller answers 503)."""

    def __init__(
        self,
        directory: Path,
        *,
        rotate_bytes: int = DEFAULT_ROTATE_BYTES,
        rotate_seconds: float = DEFAULT_ROTATE_SECONDS,
    ):
        self.directory = directory
        self.rotate_bytes = rotate_bytes
        self.rotate_seconds = rotate_seconds
        self._lock = threading.Lock()
        self._synced = threading.Condition(self._lock)
        self._file: spoolfile.SpoolFile | None = None
        self._written = 0  # records written since start (all files)
        self._durable = 0  # records up to this number are fsynced
        self._failed = 0  # records up to this number (and not durable) failed to sync
        self._syncing = False
        self._closed = False
        spoolfile.private_directory(directory)

    def append(self, payload: bytes) -> None:
        with self._lock:
            if self._closed:
                raise OSError("the receiver is shutting down")
            file = self._file
            if file is None or file.closed:
                file = self._file = spoolfile.SpoolFile(self.directory, "otlp", "otlp")
            file.append(_FRAME.pack(len(payload)) + payload)  # whole, or rolled back and raised
            self._written += 1
            mine = self._written
            while self._durable < mine:
                if self._failed >= mine:
                    raise OSError("the spool file could not be synced")
                if self._syncing:
                    self._synced.wait()
                else:
                    self._sync_group(file)
            if file.size >= self.rotate_bytes and not self._syncing and self._file is file:
                self._seal_current()

    def _sync_group(self, file: spoolfile.SpoolFile) -> None:
        """fsync everything written so far, without blocking writers of the next group."""
        target = self._written
        self._syncing = True
        self._lock.release()
        synced = False
        try:
            file.sync()
            synced = True
        except OSError as exc:
            log.warning("cannot sync %s: %s", file.path, exc)
        finally:
            self._lock.acquire()
            self._syncing = False
            if synced:
                self._durable = max(self._durable, target)
            else:  # its records are not acknowledged; the file is given up (recover seals it)
                self._failed = max(self._failed, target)
                if self._file is file:
                    self._file = None
                file.abandon()
            self._synced.notify_all()

    def _seal_current(self) -> None:
        """Seal the current file (caller holds the lock, nothing is mid-sync)."""
        file, self._file = self._file, None
        if file is None or file.closed:
            return
        try:
            file.seal()
        except OSError as exc:
            log.warning("cannot seal %s: %s", file.path, exc)
            file.abandon()
        self._durable = self._written

    def rotate_if_old(self) -> None:
        """Publish a file that has been open long enough, so `ingest` sees data on quiet servers."""
        with self._lock:
            file = self._file
            old = file is not None and time.monotonic() - file.opened_at >= self.rotate_seconds
            if old and not self._syncing and self._durable == self._written:
                self._seal_current()

    def close(self, timeout: float = 5.0) -> None:
        """Refuse further appends, wait for a sync in flight (bounded), seal the file."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._closed = True
            while self._syncing and time.monotonic() < deadline:
                self._synced.wait(max(deadline - time.monotonic(), 0.01))
            if not self._syncing:
                self._seal_current()


class _Deadlines:
    """Cuts off connections that take too long over one phase of a request (a slow client sending
    a byte at a time would otherwise hold a thread and a descriptor for ever)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._due: dict[socket.socket, float] = {}

    def set(self, connection: socket.socket, seconds: float | None) -> None:
        with self._lock:
            if seconds is None:
                self._due.pop(connection, None)
            else:
                self._due[connection] = time.monotonic() + seconds

    def enforce_until(self, stop: threading.Event) -> None:
        while not stop.wait(0.25):
            now = time.monotonic()
            with self._lock:
                late = [c for c, due in self._due.items() if due <= now]
                for connection in late:
                    del self._due[connection]
            for connection in late:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)  # the handler's read ends at once


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _ClientGone(Exception):
    """The client disconnected, or took too long, before its request was complete."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_SECONDS
    disable_nagle_algorithm = True  # headers and body go out as two writes: no delayed-ACK stall
    server: OtlpServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a receiver logs nothing per request."""

    def log_error(self, format: str, *args: Any) -> None:
        log.info("%s: %s", self.client_address[0], format % args)

    def handle_one_request(self) -> None:
        deadlines = self.server.deadlines
        deadlines.set(self.connection, HEADER_SECONDS)
        try:
            super().handle_one_request()
        finally:
            deadlines.set(self.connection, None)

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
            self.close_connection = True  # its body is left unread
            self._fail(*(refusal or (HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "")), encoding or "json")
            return
        self.server.deadlines.set(self.connection, BODY_SECONDS)
        try:
            body = self._read_body(encoding)
        except _ClientGone as gone:
            self.close_connection = True
            log.info("%s: %s; nothing was written", self.client_address[0], gone)
            return
        finally:
            self.server.deadlines.set(self.connection, None)
        if body is None:
            return
        if body.startswith((GZIP_MAGIC, ZSTD_MAGIC)):
            self._fail(
                HTTPStatus.BAD_REQUEST, "the body is compressed but Content-Encoding says not", encoding
            )
            return
        try:
            decoded = decode_request(body, encoding)
        except PayloadError as exc:
            self._fail(HTTPStatus.BAD_REQUEST, str(exc), encoding)
            return
        rejected = list(decoded.rejected)
        for span in decoded.spans:
            try:
                records.record_of_span(span)
            except records.Rejected as exc:
                rejected.append(str(exc))
        accepted = len(decoded.spans) + len(decoded.rejected) - len(rejected)
        if rejected and not accepted:
            self._fail(HTTPStatus.BAD_REQUEST, "no usable span: " + "; ".join(rejected[:3]), encoding)
            return
        if accepted:
            try:
                self.server.spool.append(body)
            except OSError as exc:
                log.warning("cannot persist a request (answered 503): %s", exc)
                self._fail(HTTPStatus.SERVICE_UNAVAILABLE, f"cannot persist the request: {exc}", encoding)
                return
        self._succeed(encoding, len(rejected), "; ".join(rejected[:3]))

    def do_GET(self) -> None:
        self._fail(HTTPStatus.METHOD_NOT_ALLOWED, "only POST /v1/traces is served", "json")

    def _authorised(self) -> bool:
        token = self.server.token
        if not token:
            return True
        given = self.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())

    def _read_body(self, encoding: str) -> bytes | None:
        """The body with Content-Encoding undone; None when refused (the answer is sent)."""
        limit = self.server.max_bytes
        length_header = self.headers.get("Content-Length")
        chunked = self.headers.get("Transfer-Encoding", "").strip().lower() == "chunked"
        content_encoding = self.headers.get("Content-Encoding", "identity").strip().lower()
        refusal = None
        if content_encoding not in ("", "identity", "gzip", "x-gzip"):
            refusal = (HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"unsupported Content-Encoding {content_encoding}")
        elif not chunked and (length_header is None or not length_header.isdigit()):
            refusal = (HTTPStatus.LENGTH_REQUIRED, "Content-Length is required")
        elif not chunked and int(length_header or 0) > limit:
            refusal = (HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body over {limit} bytes")
        if refusal is not None:
            self.close_connection = True
            self._fail(*refusal, encoding)
            return None
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
        else:
            raw = self._read_exactly(int(length_header or 0))
        if content_encoding in ("", "identity"):
            return raw
        try:
            size = gunzipped_size(raw, limit)
        except (OSError, EOFError, zlib.error):
            self._fail(HTTPStatus.BAD_REQUEST, "corrupt gzip body", encoding)
            return None
        if size is None:
            self._fail(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body over {limit} bytes once decompressed", encoding
            )
            return None
        return gunzip(raw)

    def _read_exactly(self, size: int) -> bytes:
        parts, left = [], size
        while left:
            try:
                part = self.rfile.read(min(left, _READ_CHUNK))
            except OSError as exc:
                raise _ClientGone(f"the body could not be read ({exc})") from exc
            if not part:
                raise _ClientGone(f"the client sent {size - left} of {size} bytes and stopped")
            parts.append(part)
            left -= len(part)
        return b"".join(parts)

    def _read_line(self) -> bytes:
        try:
            line = self.rfile.readline(1024)
        except OSError as exc:
            raise _ClientGone(f"the body could not be read ({exc})") from exc
        if not line:
            raise _ClientGone("the client stopped in the middle of a chunked body")
        return line

    def _read_chunked(self, limit: int) -> bytes | None:
        """A `Transfer-Encoding: chunked` body, as Node's OTLP exporter sends; None once over `limit`.

        Raises ValueError on a malformed chunk size line.
        """
        chunks: list[bytes] = []
        total = 0
        while True:
            size = int(self._read_line().split(b";")[0].strip(), 16)
            if size == 0:
                while self._read_line().strip():  # trailers, then the blank line
                    pass
                return b"".join(chunks)
            total += size
            if total > limit:
                return None
            chunks.append(self._read_exactly(size))
            self._read_line()  # the CRLF after each chunk

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
        code = _GRPC_UNAVAILABLE if status == HTTPStatus.SERVICE_UNAVAILABLE else _GRPC_INVALID_ARGUMENT
        if encoding == "json":
            body = orjson.dumps({"code": code, "message": message})
            self._send(status, body, "application/json")
        else:
            body = Status(code=code, message=message).SerializeToString()
            self._send(status, body, "application/x-protobuf")

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if status == HTTPStatus.SERVICE_UNAVAILABLE:
            self.send_header("Retry-After", str(RETRY_AFTER_SECONDS))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


def gunzipped_size(raw: bytes, limit: int) -> int | None:
    """The size of `raw` gunzipped (every member), or None past `limit`; holds one chunk at a time,
    so a decompression bomb costs no memory. Raises zlib.error / EOFError on a corrupt body."""
    total = 0
    data = raw
    while data:
        decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        while data and not decompressor.eof:
            total += len(decompressor.decompress(data, _READ_CHUNK))
            if total > limit:
                return None
            data = decompressor.unconsumed_tail
        while not decompressor.eof:  # output still buffered inside the decompressor
            chunk = decompressor.decompress(b"", _READ_CHUNK)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:
                return None
        if not decompressor.eof:
            raise EOFError("truncated gzip body")
        data = decompressor.unused_data
    return total


def gunzip(raw: bytes) -> bytes:
    """Every gzip member of `raw`, decompressed (call `gunzipped_size` first to bound it)."""
    out, data = [], raw
    while data:
        decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        out.append(decompressor.decompress(data))
        data = decompressor.unused_data
    return b"".join(out)


class OtlpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], spool: OtlpSpool, *, token: str | None, max_bytes: int):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        self.spool = spool
        self.token = token
        self.max_bytes = max_bytes
        self.deadlines = _Deadlines()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up or stalled is one log line; anything else is a bug: traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, OSError):
            log.info("%s: connection ended: %s", client_address[0], error)
        else:
            log.exception("error while serving %s", client_address[0])


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
    rotate_bytes: int = DEFAULT_ROTATE_BYTES,
    rotate_seconds: float = DEFAULT_ROTATE_SECONDS,
    ready: threading.Event | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Run the receiver until `stop` is set (or forever); seals the spool file on the way out.

    First seals the spool files that processes now gone left `.open` (ours or the shim's)."""
    check_bind(host, token)
    spool = OtlpSpool(spool_dir, rotate_bytes=rotate_bytes, rotate_seconds=rotate_seconds)
    report_recovered(spoolfile.recover(spool_dir))
    server = OtlpServer((host, port), spool, token=token, max_bytes=max_bytes)
    stop = stop or threading.Event()
    for target in (
        lambda: _rotate_until(spool, stop, rotate_seconds),
        lambda: server.deadlines.enforce_until(stop),
    ):
        threading.Thread(target=target, daemon=True).start()
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
        spool.close()


def report_recovered(recovered: list[spoolfile.Recovered]) -> None:
    for found in recovered:
        if found.torn_at is not None:
            log.warning(
                "sealed %s, left open by a process that is gone, at its last complete record "
                "(offset %d); its torn tail is in %s",
                found.path,
                found.torn_at,
                found.torn_copy,
            )


def _rotate_until(spool: OtlpSpool, stop: threading.Event, every: float) -> None:
    while not stop.wait(min(every, 1.0)):
        spool.rotate_if_old()
