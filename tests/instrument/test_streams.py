"""SSE framing, skimming and content decoding (instrument/streams.py)."""

from __future__ import annotations

import gzip
import zlib

import brotli
import pytest

from modelmeter.instrument import streams
from modelmeter.instrument.streams import SSEFramer, decoder_for


def frame(chunks: list[bytes], *, eof: bool = False) -> list[tuple[str | None, bytes]]:
    events: list[tuple[str | None, bytes]] = []
    framer = SSEFramer(lambda event, data: events.append((event, data)))
    for chunk in chunks:
        framer.feed(chunk)
    if eof:
        framer.flush()
    return events


STREAM = (
    b": OPENROUTER PROCESSING\n\n"
    b'data: {"a":1}\n\n'
    b'event: message_delta\ndata: {"b":2}\n\n'
    b"data: line one\ndata: line two\n\n"
    b"event: ping\n\n"
    b"data: [DONE]\n\n"
)
EXPECTED = [
    (None, b'{"a":1}'),
    ("message_delta", b'{"b":2}'),
    (None, b"line one\nline two"),
    (None, b"[DONE]"),
]


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"], ids=["lf", "crlf", "cr"])
def test_sse_framer_reads_every_line_ending_comments_named_and_multiline_events(eol: bytes) -> None:
    assert frame([STREAM.replace(b"\n", eol)]) == EXPECTED


@pytest.mark.parametrize("eol", [b"\n", b"\r\n"], ids=["lf", "crlf"])
def test_sse_framer_gives_the_same_events_whatever_the_chunk_boundaries(eol: bytes) -> None:
    stream = STREAM.replace(b"\n", eol)
    for size in (1, 2, 3, 7):
        assert frame([stream[i : i + size] for i in range(0, len(stream), size)]) == EXPECTED


def test_sse_framer_keeps_a_last_event_without_blank_line_only_at_eof() -> None:
    assert frame([b'data: {"x":1}\n\ndata: {"y":2}']) == [(None, b'{"x":1}')]
    assert frame([b'data: {"x":1}\n\ndata: {"y":2}'], eof=True) == [(None, b'{"x":1}'), (None, b'{"y":2}')]


def test_sse_framer_skips_an_oversize_event_and_recovers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streams, "MAX_EVENT_BYTES", 64)
    assert frame([b"data: " + b"x" * 100, b"x" * 100 + b"\n\n", b"data: ok\n\n"]) == [(None, b"ok")]


# --- content decoding -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, as some servers send it
        ("br", brotli.compress),
    ],
    ids=["gzip", "deflate-zlib", "deflate-raw", "br"],
)
def test_decoder_undoes_each_content_encoding_fed_in_small_pieces(encoding: str, encode: object) -> None:
    body = b'{"usage": {"prompt_tokens": 3}}' * 50
    encoded = encode(body)  # type: ignore[operator]
    decode = decoder_for(encoding)
    assert decode is not None
    assert b"".join(decode(encoded[i : i + 5]) for i in range(0, len(encoded), 5)) == body


def test_decoder_refuses_an_unknown_encoding_and_passes_identity() -> None:
    assert decoder_for(None) is None and decoder_for("identity") is None
    with pytest.raises(ValueError):
        decoder_for("zstd")


def test_skim_skips_events_before_the_first_probe_and_reads_the_rest() -> None:
    events: list[tuple[str | None, bytes]] = []
    framer = SSEFramer(lambda event, data: events.append((event, data)))
    framer.skim(b"data: a\n\ndata: b\n\ndata: c", (b"zzz",))
    assert events == []
    framer.skim(b'"zzz"\n\ndata: d\n\ndata: e', (b"zzz",))
    framer.flush()
    assert events == [(None, b'c"zzz"'), (None, b"d"), (None, b"e")]


def test_skim_looks_for_spaced_probes_only_in_data_written_with_spaces() -> None:
    events: list[tuple[str | None, bytes]] = []
    framer = SSEFramer(lambda event, data: events.append((event, data)))
    compact, spaced = (b'"usage":{',), (b'"usage": {',)
    framer.skim(b'data: {"a":1}\n\ndata: {"usage": {"n": 2}}\n\n', compact, spaced)
    framer.skim(b'data: {"b":1}\n\ndata: {"usage":{"n":3}}\n\n', compact, spaced)
    assert events == [(None, b'{"usage": {"n": 2}}'), (None, b'{"usage":{"n":3}}')]
