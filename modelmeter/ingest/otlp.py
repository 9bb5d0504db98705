"""OTLP trace payloads, in every shape ingest reads, decoded to `SpanIn`.

Shapes, told apart by their bytes and never by file name:
- one `ExportTraceServiceRequest` per file, as JSON or protobuf;
- JSON lines, one request per line (the Collector file exporter's default format);
- length-prefixed records, a 4-byte big-endian length before each (the Collector file exporter's
  proto format and compressed output, and the files `modelmeter serve` writes); each record JSON or
  protobuf, possibly compressed itself;
- gzip or zstd around any of these (zstd with the `zstd` extra).
A protobuf request starts with a field tag (never a zero byte), so a leading zero means framing.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import io
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from google.protobuf.message import DecodeError as ProtobufDecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from modelmeter.ingest.normalise import SpanIn

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_FRAME = struct.Struct(">I")


class PayloadError(ValueError):
    """A payload (or a part of it) that cannot be decoded; the message is the quarantine reason."""


@dataclass(slots=True)
class Decoded:
    """The spans of one request, plus why any span of it was rejected."""

    spans: list[SpanIn] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Part:
    """One request of a file: its 1-based line or record number, and its spans or why it failed."""

    where: int
    decoded: Decoded | None
    error: str | None = None
    excerpt: str | None = None


def decompress(raw: bytes) -> bytes:
    """Undo gzip (possibly several members) or zstd (the Collector file exporter's compression)."""
    if raw.startswith(GZIP_MAGIC):
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise PayloadError(f"corrupt gzip data: {exc}") from exc
    if raw.startswith(ZSTD_MAGIC):
        return _unzstd(raw)
    return raw


def _unzstd(raw: bytes) -> bytes:
    try:
        import zstandard
    except ImportError as exc:
        raise PayloadError(
            "zstd-compressed data needs the zstd extra: pip install 'modelmeter[zstd]'"
        ) from exc
    reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw), read_across_frames=True)
    try:
        return reader.read()
    except zstandard.ZstdError as exc:
        raise PayloadError(f"corrupt zstd data: {exc}") from exc


def iter_parts(raw: bytes) -> Iterator[Part]:
    """Every request in a file's bytes, each decoded or with the reason it was not."""
    data = decompress(raw)
    head = data.lstrip()[:1]
    if head in (b"{", b"["):
        yield from _json_parts(data)
    elif data[:1] == b"\x00":
        yield from _framed_parts(data)
    elif data:
        yield _part(1, data)


def _json_parts(data: bytes) -> Iterator[Part]:
    try:
        whole = orjson.loads(data)
    except orjson.JSONDecodeError:
        whole = None
    if isinstance(whole, dict):
        yield _part(1, whole)
        return
    if isinstance(whole, list):  # an array of requests
        for number, request in enumerate(whole, start=1):
            yield _part(number, request)
        return
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.strip():
            yield _part(number, line)


def _framed_parts(data: bytes) -> Iterator[Part]:
    offset, number = 0, 0
    while offset < len(data):
        number += 1
        if offset + _FRAME.size > len(data):
            yield Part(number, None, "truncated length prefix")
            return
        (length,) = _FRAME.unpack_from(data, offset)
        start = offset + _FRAME.size
        if start + length > len(data):
            yield Part(number, None, f"record length {length} runs past the end of the file")
            return
        yield _part(number, data[start : start + length])
        offset = start + length


def _part(where: int, payload: bytes | dict[str, Any]) -> Part:
    try:
        return Part(where, decode_request(payload))
    except PayloadError as exc:
        excerpt = payload[:200].decode("utf-8", "replace") if isinstance(payload, bytes) else None
        return Part(where, None, str(exc), excerpt)


def decode_request(payload: bytes | dict[str, Any], content_type: str | None = None) -> Decoded:
    """One ExportTraceServiceRequest: a parsed JSON object, JSON bytes or protobuf bytes."""
    if isinstance(payload, bytes):
        payload = decompress(payload)
        is_json = content_type == "json" or (content_type is None and payload.lstrip()[:1] == b"{")
        if not is_json:
            return _from_protobuf(payload)
        try:
            payload = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            raise PayloadError(f"broken JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise PayloadError("not an ExportTraceServiceRequest object")
    return _from_json(payload)


# --- JSON (OTLP/JSON: lowerCamelCase keys, hex ids, 64-bit ints as strings) --------------------------


def _from_json(request: dict[str, Any]) -> Decoded:
    decoded = Decoded()
    try:
        for resource_spans in _list(request, "resourceSpans"):
            resource = _json_attrs((resource_spans.get("resource") or {}).get("attributes"))
            for scope_spans in _list(resource_spans, "scopeSpans") or _list(
                resource_spans, "instrumentationLibrarySpans"
            ):
                scope = scope_spans.get("scope") or scope_spans.get("instrumentationLibrary") or {}
                for span in _list(scope_spans, "spans"):
                    _add_json_span(decoded, span, scope, resource)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise PayloadError(f"not an OTLP trace request: {exc}") from exc
    return decoded


def _list(obj: dict[str, Any], key: str) -> list[Any]:
    value = obj.get(key) or []
    if not isinstance(value, list):
        raise PayloadError(f"`{key}` is not a list")
    return value


def _add_json_span(
    decoded: Decoded, span: dict[str, Any], scope: dict[str, Any], resource: dict[str, Any]
) -> None:
    """Decode one span, or reject it with the reason (a bad span never spoils its request)."""
    try:
        name = str(span.get("name") or "")
    except AttributeError:
        decoded.rejected.append("a span that is not a JSON object")
        return
    trace_id = hex_id(span.get("traceId"), 16)
    span_id = hex_id(span.get("spanId"), 8)
    if trace_id is None or span_id is None:
        decoded.rejected.append(f"span {name!r}: invalid traceId or spanId")
        return
    try:
        status = span.get("status") or {}
        decoded.spans.append(
            SpanIn(
                trace_id=trace_id,
                span_id=span_id,
                parent_span_id=hex_id(span.get("parentSpanId"), 8),
                name=name,
                kind=_int64(span.get("kind") or 0),
                start_ns=_int64(span.get("startTimeUnixNano") or 0),
                end_ns=_int64(span.get("endTimeUnixNano") or 0),
                status_code=_int64(status.get("code") or 0),
                status_message=status.get("message") or None,
                attributes=_json_attrs(span.get("attributes")),
                scope_name=str(scope.get("name") or ""),
                scope_version=scope.get("version") or None,
                resource=resource,
                events=[
                    {
                        "name": e.get("name"),
                        "time_ns": _int64(e.get("timeUnixNano") or 0),
                        "attributes": _json_attrs(e.get("attributes")),
                    }
                    for e in span.get("events") or []
                ],
            )
        )
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        decoded.rejected.append(f"span {name!r}: {exc}")


_INT64 = 2**63


def _int64(value: Any) -> int:
    """An OTLP/JSON integer (a number or a decimal string) that fits 64 bits, else ValueError."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{value!r} is not an integer")
    number = int(value)
    if not -_INT64 <= number < 2 * _INT64:  # int64 values, and uint64 times
        raise ValueError(f"integer {str(value)[:30]} does not fit 64 bits")
    return number


def _event(name: Any, time_ns: Any, attributes: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "time_ns": int(time_ns or 0), "attributes": attributes}


def hex_id(value: Any, size: int) -> str | None:
    """An id as lowercase hex: accepts hex (the OTLP/JSON rule), base64 (proto3 JSON) or a byte list."""
    if isinstance(value, list):
        value = bytes(value)
    if isinstance(value, bytes):
        return value.hex() if len(value) == size and any(value) else None
    if not isinstance(value, str) or not value:
        return None
    if len(value) == size * 2:
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            return None
        return raw.hex() if any(raw) else None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == size and any(raw) else None


def _json_attrs(attributes: Any) -> dict[str, Any]:
    if not attributes:
        return {}
    if not isinstance(attributes, list):
        raise ValueError("attributes are not a list")
    found = {}
    for item in attributes:
        key = item.get("key") if isinstance(item, dict) else None
        if not isinstance(key, str):
            raise ValueError("an attribute without a string `key`")
        found[key] = _json_value(item.get("value") or {})
    return found


def _json_value(value: dict[str, Any]) -> Any:
    if "stringValue" in value:
        return value["stringValue"]
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:
        return _int64(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "arrayValue" in value:
        return [_json_value(v) for v in (value["arrayValue"] or {}).get("values") or []]
    if "kvlistValue" in value:
        return _json_attrs((value["kvlistValue"] or {}).get("values"))
    if "bytesValue" in value:
        return value["bytesValue"]
    return None


# --- protobuf -----------------------------------------------------------------------------------


def _from_protobuf(data: bytes) -> Decoded:
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(data)
    except ProtobufDecodeError as exc:
        raise PayloadError(f"not an OTLP protobuf request: {exc}") from exc
    decoded = Decoded()
    for resource_spans in request.resource_spans:
        resource = _proto_attrs(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope
            for span in scope_spans.spans:
                trace_id = hex_id(span.trace_id, 16)
                span_id = hex_id(span.span_id, 8)
                if trace_id is None or span_id is None:
                    decoded.rejected.append(f"span {span.name!r}: invalid trace_id or span_id")
                    continue
                decoded.spans.append(
                    SpanIn(
                        trace_id=trace_id,
                        span_id=span_id,
                        parent_span_id=hex_id(span.parent_span_id, 8),
                        name=span.name,
                        kind=int(span.kind),
                        start_ns=span.start_time_unix_nano,
                        end_ns=span.end_time_unix_nano,
                        status_code=int(span.status.code),
                        status_message=span.status.message or None,
                        attributes=_proto_attrs(span.attributes),
                        scope_name=scope.name,
                        scope_version=scope.version or None,
                        resource=resource,
                        events=[
                            {
                                "name": e.name,
                                "time_ns": e.time_unix_nano,
                                "attributes": _proto_attrs(e.attributes),
                            }
                            for e in span.events
                        ],
                    )
                )
    return decoded


def _proto_attrs(attributes: Any) -> dict[str, Any]:
    return {item.key: _proto_value(item.value) for item in attributes}


def _proto_value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_proto_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return _proto_attrs(value.kvlist_value.values)
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return getattr(value, kind)
