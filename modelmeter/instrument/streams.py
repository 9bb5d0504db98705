"""Reading a response body while the app reads it: decoding, SSE framing, bounded JSON, and the tee.

The tee is a pass-through byte stream put in place of the transport's response stream. Every chunk
goes to the app unchanged and, on the side, to a `BodyReader` that decompresses (for its own use
only), frames SSE events or collects a JSON body within a size cap, and hands the result to the
wire family. The tee tells its observer when the body ends: exhausted, closed, failed, or dropped
unread (the tee's `__del__` catches bodies the app abandons without closing).
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Protocol

import orjson

MAX_EVENT_BYTES = 4 << 20  # one SSE event larger than this is skipped
MAX_JSON_BYTES = 8 << 20  # a JSON body larger than this is read from its head and tail only
JSON_WINDOW = 64 << 10  # head and tail kept of an over-size JSON body


# --- content decoding ---------------------------------------------------------------------------


_Decoder = Callable[[bytes], bytes]


def decoder_for(content_encoding: str | None) -> _Decoder | None:
    """A decompressing function for the encoding, None for identity; raises ValueError if unsupported."""
    if not content_encoding:
        return None
    encodings = [e.strip().lower() for e in content_encoding.split(",") if e.strip()]
    steps: list[_Decoder] = []
    for encoding in reversed(encodings):  # the last applied is undone first
        if encoding in ("identity", ""):
            continue
        if encoding in ("gzip", "x-gzip"):
            steps.append(zlib.decompressobj(16 + zlib.MAX_WBITS).decompress)
        elif encoding == "deflate":
            steps.append(_Deflate())
        elif encoding == "br":
            steps.append(_brotli())
        else:
            raise ValueError(f"unsupported content-encoding {encoding}")
    if not steps:
        return None
    if len(steps) == 1:
        return steps[0]

    def chain(data: bytes) -> bytes:
        for step in steps:
            data = step(data)
        return data

    return chain


class _Deflate:
    """HTTP "deflate" is zlib-wrapped by the spec but raw deflate in practice; accept both."""

    def __init__(self) -> None:
        self._decoder: Any = None

    def __call__(self, data: bytes) -> bytes:
        if self._decoder is None:
            self._decoder = zlib.decompressobj()
            try:
                return bytes(self._decoder.decompress(data))
            except zlib.error:
                self._decoder = zlib.decompressobj(-zlib.MAX_WBITS)
        return bytes(self._decoder.decompress(data))


def _brotli() -> _Decoder:
    try:
        import brotli  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError as exc:
        raise ValueError("br content without the brotli package") from exc
    decompressor = brotli.Decompressor()
    process: _Decoder = decompressor.process
    return process


# --- SSE framing --------------------------------------------------------------------------------

EventSink = Callable[[str | None, bytes], None]


class SSEFramer:
    """Incremental SSE framing: any line ending, comments, multi-line data, named events.

    Holds at most one partial event (capped at MAX_EVENT_BYTES); calls `sink(event, data)` for each
    complete event that has data. A block that is a single `data:` line (the common case) skips the
    line-by-line parse.
    """

    __slots__ = ("_buf", "_cr_pending", "_oversize", "_sink")

    def __init__(self, sink: EventSink) -> None:
        self._sink = sink
        self._buf = b""
        self._cr_pending = False
        self._oversize = False

    def feed(self, chunk: bytes) -> None:
        if (
            not self._buf
            and chunk.endswith(b"\n\n")
            and chunk.find(b"\n\n") == len(chunk) - 2
            and b"\r" not in chunk
            and not self._cr_pending
            and not self._oversize
        ):
            self._dispatch(chunk[:-2])  # the common case: exactly one whole event
            return
        if b"\r" in chunk or self._cr_pending:
            if self._cr_pending and chunk.startswith(b"\n"):
                chunk = chunk[1:]
            self._cr_pending = chunk.endswith(b"\r")
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        buf = self._buf + chunk if self._buf else chunk
        start = 0
        while True:
            end = buf.find(b"\n\n", start)
            if end < 0:
                break
            if self._oversize:
                self._oversize = False
            else:
                self._dispatch(buf[start:end])
            start = end + 2
        rest = buf[start:] if start else buf
        if len(rest) > MAX_EVENT_BYTES:
            rest = b""
            self._oversize = True
        self._buf = rest

    def skim(self, data: bytes, probes: tuple[bytes, ...], spaced: tuple[bytes, ...] = ()) -> None:
        """Feed `data`, but skip unread every complete event before the first one that holds any
        of the probes (a few C-speed substring scans instead of one Python call per event).
        `spaced` probes (`"key": value`) are looked for only when the data has `": ` at all, which
        compact JSON never does: one scan instead of one per spaced probe."""
        if self._cr_pending or self._oversize or b"\r" in data:
            self.feed(data)
            return
        buf = self._buf + data if self._buf else data
        first = -1
        for probe in probes + spaced if spaced and b'": ' in buf else probes:
            at = buf.find(probe, 0, first + len(probe) if first >= 0 else len(buf))
            if at >= 0:
                first = at
        if first >= 0:  # read from the event holding the first probe on
            start = buf.rfind(b"\n\n", 0, first)
            self._buf = b""
            self.feed(buf[start + 2 :] if start >= 0 else buf)
            return
        cut = buf.rfind(b"\n\n")
        rest = buf[cut + 2 :] if cut >= 0 else buf
        if len(rest) > MAX_EVENT_BYTES:
            rest = b""
            self._oversize = True
        self._buf = rest

    def flush(self) -> None:
        """At EOF: a last event without its blank line still counts (servers that just close)."""
        if self._buf.strip() and not self._oversize:
            self._dispatch(self._buf.rstrip(b"\n"))
        self._buf = b""

    def _dispatch(self, block: bytes) -> None:
        if block.startswith(b"data: ") and b"\n" not in block:
            self._sink(None, block[6:])
            return
        event: str | None = None
        data: list[bytes] = []
        for line in block.split(b"\n"):
            if not line or line[0] == 58:  # ':' comment
                continue
            name, _, value = line.partition(b":")
            if value.startswith(b" "):
                value = value[1:]
            if name == b"data":
                data.append(value)
            elif name == b"event":
                event = value.decode("utf-8", "replace")
        if data:
            self._sink(event, data[0] if len(data) == 1 else b"\n".join(data))


@functools.lru_cache(maxsize=64)
def split_spaced(probes: tuple[bytes, ...]) -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
    """(compact probes, probes with `": ` in them) for `SSEFramer.skim`."""
    return tuple(p for p in probes if b'": ' not in p), tuple(p for p in probes if b'": ' in p)


# --- bounded JSON body --------------------------------------------------------------------------


class JsonCollector:
    """Keeps a JSON body whole up to MAX_JSON_BYTES; past that only its head and tail."""

    __slots__ = ("_head", "_parts", "_size", "_tail")

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._size = 0
        self._head = b""
        self._tail = b""

    def feed(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._parts is not None and self._size <= MAX_JSON_BYTES:
            self._parts.append(chunk)
            return
        if not self._head:
            whole = b"".join(self._parts)
            self._head = whole[:JSON_WINDOW]
            self._tail = whole[-JSON_WINDOW:]
            self._parts = []
        self._tail = (self._tail + chunk)[-JSON_WINDOW:]

    @property
    def size(self) -> int:
        return self._size

    @property
    def complete(self) -> bool:
        return not self._head

    def body(self) -> bytes:
        return b"".join(self._parts)

    def head_and_tail(self) -> tuple[bytes, bytes]:
        return self._head, self._tail


def salvage(head: bytes, tail: bytes) -> dict[str, Any]:
    """What an over-size JSON body still tells from its ends: top-level model, id and usage.

    Large bodies are embeddings and images, whose usage and model come last; we decode the last
    balanced `"usage": {...}` object and the first string `"model"` / `"id"` values we can find.
    """
    found: dict[str, Any] = {}
    at = tail.rfind(b'"usage"')
    if at >= 0:
        start = tail.find(b"{", at)
        depth = 0
        for i in range(start, len(tail)):
            if tail[i] == 123:
                depth += 1
            elif tail[i] == 125:
                depth -= 1
                if depth == 0:
                    found["usage"] = orjson.loads(tail[start : i + 1])
                    break
    for key in ("model", "id"):
        for part in (tail, head):
            value = _string_value(part, key.encode())
            if value:
                found[key] = value
                break
    return found


def _string_value(data: bytes, key: bytes) -> str | None:
    at = data.rfind(b'"' + key + b'"')
    if at < 0:
        return None
    colon = data.find(b":", at)
    quote = data.find(b'"', colon)
    end = data.find(b'"', quote + 1)
    if colon < 0 or quote < 0 or end < 0 or quote - colon > 3:
        return None
    return data[quote + 1 : end].decode("utf-8", "replace")


# --- the tee ------------------------------------------------------------------------------------


SKIM_BATCH_CHUNKS = 64  # chunks collected in batch mode before they are taken together


class Observer(Protocol):
    """What the tee reports to (the call observation).

    `feed` takes each chunk until the observer sets `batch` (batch mode: nothing left to learn
    per chunk; a JSON body is in it from the start); from then on the tee appends chunks to `batch`
    itself, with no call per chunk, and hands the list to `skim` every SKIM_BATCH_CHUNKS chunks
    (counted, not measured: cheaper per chunk; httpcore reads at most 64 KiB at a time, so a few
    MiB wait at worst), and the observer takes the rest at the end.
    """

    batch: list[bytes] | None
    done: bool  # the observer has ended (the tee need not tell it again)

    def feed(self, chunk: bytes) -> None: ...

    def skim(self, batch: list[bytes]) -> None: ...

    def end(self, how: str, exc: BaseException | None = None) -> None: ...


class _PassesElapsed:
    """A client-level tee sits on the client's own stream wrapper, where httpx2 keeps the time the
    response took (`response.elapsed` reads it from the stream): pass it through."""

    _inner: Any

    @property
    def elapsed(self) -> Any:
        return getattr(self._inner, "elapsed", None)

    @elapsed.setter
    def elapsed(self, value: Any) -> None:
        self._inner.elapsed = value


def _make_tees(sync_base: type, async_base: type) -> tuple[type, type]:
    """Tee classes deriving from one HTTP library's byte-stream bases (its client checks isinstance)."""

    class SyncTee(_PassesElapsed, sync_base):
        def __init__(self, inner: Any, observer: Observer) -> None:
            self._inner = inner
            self._observer = observer

        def __iter__(self) -> Iterator[bytes]:
            observer = self._observer
            try:
                chunks = iter(self._inner)
                if observer.batch is None:
                    for chunk in chunks:
                        observer.feed(chunk)
                        yield chunk
                        if observer.batch is not None:
                            break
                batch = observer.batch
                if batch is not None:  # batch mode: per chunk, only an append
                    collect = batch.append
                    for chunk in chunks:
                        collect(chunk)
                        yield chunk
                        if len(batch) >= SKIM_BATCH_CHUNKS:
                            observer.skim(batch)
            except GeneratorExit:  # the iterator was dropped mid-body (garbage-collected)
                observer.end("abandoned")
                raise
            except BaseException as exc:
                observer.end("error", exc)
                raise
            observer.end("eof")

        def close(self) -> None:
            try:
                self._inner.close()
            finally:
                if not self._observer.done:
                    self._observer.end("closed")

        def __del__(self) -> None:  # dropped unread: the call ends as abandoned
            if not self._observer.done:
                self._observer.end("abandoned")

    class AsyncTee(_PassesElapsed, async_base):
        def __init__(self, inner: Any, observer: Observer) -> None:
            self._inner = inner
            self._observer = observer

        async def __aiter__(self) -> AsyncIterator[bytes]:
            observer = self._observer
            try:
                chunks = aiter(self._inner)
                if observer.batch is None:
                    async for chunk in chunks:
                        observer.feed(chunk)
                        yield chunk
                        if observer.batch is not None:
                            break
                batch = observer.batch
                if batch is not None:  # batch mode: per chunk, only an append
                    collect = batch.append
                    async for chunk in chunks:
                        collect(chunk)
                        yield chunk
                        if len(batch) >= SKIM_BATCH_CHUNKS:
                            observer.skim(batch)
            except GeneratorExit:  # the iterator was dropped mid-body (garbage-collected)
                observer.end("abandoned")
                raise
            except BaseException as exc:
                observer.end("error", exc)
                raise
            observer.end("eof")

        async def aclose(self) -> None:
            try:
                await self._inner.aclose()
            finally:
                if not self._observer.done:
                    self._observer.end("closed")

        def __del__(self) -> None:
            if not self._observer.done:
                self._observer.end("abandoned")

    return SyncTee, AsyncTee


_TEES: dict[type, tuple[type, type]] = {}


def tee_classes(sync_base: type, async_base: type) -> tuple[type, type]:
    """The (sync, async) tee classes for one HTTP library, made once."""
    tees = _TEES.get(sync_base)
    if tees is None:
        tees = _TEES[sync_base] = _make_tees(sync_base, async_base)
    return tees


class AiohttpContentTee:
    """Put in place of an aiohttp response's `content` (its StreamReader, whose slots leave no room
    for a wrapper): every read method passes the reader's bytes to the app unchanged and, on the
    side, to the observer; the body ends when a read leaves the reader at its end or fails, or when
    the response is released or closed first (`ended`). Everything else is the reader's own."""

    def __init__(self, inner: Any, observer: Observer) -> None:
        self._inner = inner
        self._observer = observer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _took(self, data: Any) -> Any:
        observer = self._observer
        try:
            chunk = data[0] if type(data) is tuple else data
            if chunk:
                batch = observer.batch
                if batch is None:
                    observer.feed(chunk)
                else:
                    batch.append(chunk)
                    if len(batch) >= SKIM_BATCH_CHUNKS:
                        observer.skim(batch)
            if self._inner.at_eof():
                observer.end("eof")
        except Exception:  # never raise into the app's read
            observer.end("closed")
        return data

    async def _read(self, method: str, *args: Any) -> Any:
        try:
            data = await getattr(self._inner, method)(*args)
        except BaseException as exc:
            self._observer.end("error", exc)
            raise
        return self._took(data)

    async def read(self, n: int = -1) -> bytes:
        return await self._read("read", n)

    async def readany(self) -> bytes:
        return await self._read("readany")

    async def readline(self) -> bytes:
        return await self._read("readline")

    async def readuntil(self, separator: bytes = b"\n") -> bytes:
        return await self._read("readuntil", separator)

    async def readexactly(self, n: int) -> bytes:
        return await self._read("readexactly", n)

    async def readchunk(self) -> tuple[bytes, bool]:
        return await self._read("readchunk")

    def read_nowait(self, n: int = -1) -> bytes:
        return self._took(self._inner.read_nowait(n))

    async def _until_empty(self, read: Callable[[], Any]) -> AsyncIterator[bytes]:
        while chunk := await read():
            yield chunk

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._until_empty(self.readline)

    def iter_any(self) -> AsyncIterator[bytes]:
        return self._until_empty(self.readany)

    def iter_chunked(self, n: int) -> AsyncIterator[bytes]:
        return self._until_empty(functools.partial(self.read, n))

    async def iter_chunks(self) -> AsyncIterator[tuple[bytes, bool]]:
        while (chunk := await self.readchunk()) != (b"", False):
            yield chunk

    def ended(self) -> None:
        """The response was released or closed: a body not read to its end ends here."""
        self._observer.end("closed")
