"""A small HTTP/1.1 server on asyncio streams: just what SDK clients need from a mock.

Keep-alive, Content-Length or chunked request bodies, chunked streaming responses, optional gzip
(flushed per write so a stream stays a stream), a clean early close, and a TCP reset (SO_LINGER 0).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import parse_qsl, unquote, urlsplit

_EXTRA_REASONS = {529: "Site Overloaded"}
_MAX_HEADER_LINES = 200


@dataclass(frozen=True)
class HttpRequest:
    """A parsed request; header names are lower-case (the last value of a repeated header wins)."""

    method: str
    target: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


class HttpResponse:
    """Writes one response: `start`, then `write` any number of times, then `finish` (or `close`/`reset`).

    Writes are buffered until `drain`, `finish` or `close`, so a burst of SSE events leaves in one
    send instead of one system call and TCP segment each.
    """

    def __init__(self, writer: asyncio.StreamWriter, request: HttpRequest) -> None:
        self._writer = writer
        self._pending: list[bytes] = []
        self._chunked = False
        self._gzip: zlib._Compress | None = None
        self.started = False
        self.keep_alive = request.headers.get("connection", "").lower() != "close"

    def start(
        self, status: int, headers: list[tuple[str, str]], *, length: int | None = None, gzip: bool = False
    ) -> None:
        """Send the status line and headers; `length=None` means a chunked body."""
        reason = _EXTRA_REASONS.get(status) or HTTPStatus(status).phrase
        lines = [f"HTTP/1.1 {status} {reason}"]
        lines += [f"{name}: {value}" for name, value in headers]
        if gzip:
            self._gzip = zlib.compressobj(6, zlib.DEFLATED, 31)
            lines.append("content-encoding: gzip")
        self._chunked = length is None or gzip
        lines.append("transfer-encoding: chunked" if self._chunked else f"content-length: {length}")
        if not self.keep_alive:
            lines.append("connection: close")
        self._pending.append(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        self.started = True

    def write(self, data: bytes) -> None:
        if self._gzip is not None:
            data = self._gzip.compress(data) + self._gzip.flush(zlib.Z_SYNC_FLUSH)
        if not self._chunked:
            self._pending.append(data)
        elif data:
            self._pending.append(b"%x\r\n%b\r\n" % (len(data), data))

    def _flush(self) -> None:
        if self._pending:
            self._writer.write(b"".join(self._pending))
            self._pending.clear()

    def finish(self) -> None:
        """End the body properly (gzip trailer and the last chunk) and send what is buffered."""
        if self._gzip is not None:
            tail = self._gzip.flush(zlib.Z_FINISH)
            self._pending.append(b"%x\r\n%b\r\n" % (len(tail), tail))
        if self._chunked:
            self._pending.append(b"0\r\n\r\n")
        self._flush()

    async def drain(self) -> None:
        self._flush()
        await self._writer.drain()

    def close(self) -> None:
        """Close the connection cleanly (FIN) without ending the body: the client sees it stop short."""
        self.keep_alive = False
        self._flush()
        self._writer.close()

    def reset(self) -> None:
        """Abort the connection with a TCP RST."""
        self.keep_alive = False
        sock = self._writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._writer.transport.abort()


Handler = Callable[[HttpRequest, HttpResponse], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> HttpRequest | None:
    line = await reader.readline()
    if not line.strip():
        return None
    method, target, _version = line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    for _ in range(_MAX_HEADER_LINES):
        raw = await reader.readline()
        if raw in (b"\r\n", b"\n", b""):
            break
        name, _, value = raw.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = bytearray()
        while size := int((await reader.readline()).split(b";")[0], 16):
            body += await reader.readexactly(size)
            await reader.readline()
        await reader.readline()
    else:
        body = bytearray(await reader.readexactly(int(headers.get("content-length", "0"))))
    parts = urlsplit(target)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    return HttpRequest(method.upper(), target, unquote(parts.path), query, headers, bytes(body))


class HttpServer:
    """Listens on one port and hands every request on every connection to `handler`."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.StreamWriter] = set()

    async def start(self, host: str, port: int) -> int:
        self._server = await asyncio.start_server(self._serve_connection, host, port, limit=1 << 20)
        sock = self._server.sockets[0]
        return int(sock.getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._connections):
            writer.transport.abort()
        if self._server is not None:
            await self._server.wait_closed()

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    break
                response = HttpResponse(writer, request)
                await self._handler(request, response)
                if not response.keep_alive or writer.is_closing():
                    break
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        except asyncio.CancelledError:
            # the server is stopping; this task is the connection's root, nobody awaits it
            pass
        finally:
            self._connections.discard(writer)
            if not writer.is_closing():
                writer.close()
