"""What an AI request said. The app's thread keeps the request's bytes and its headers as it
leaves; reading them (model, stream flag, output limit, retry identity, SDK, credential) waits
until someone needs it: in the default setup the spool's thread, just before the call's record is
made (`CallObservation.end`)."""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from modelmeter import semconv as sc
from modelmeter.instrument import keys, sdk, tags
from modelmeter.instrument.naming import canonical
from modelmeter.instrument.providers import WireFamily

_PROMPT_FIELDS = ("system", "systemInstruction", "instructions", "messages", "input", "contents", "prompt")

MAX_PARSED_REQUEST_BYTES = 1 << 20  # larger request bodies are not json-decoded
# larger request bodies are decoded on the app's thread at once rather than kept until the spool's
# thread gets to them; with the response limit in call.py, the bodies held for the spool are at most
# 32 KiB per queued call (8,192 calls at most: 256 MiB if the spool's thread falls that far behind)
MAX_DEFERRED_REQUEST_BYTES = 16 << 10


@dataclass(frozen=True, slots=True)
class Route:
    """What a URL alone tells about a call, worked out once per endpoint (see `shim._begin`)."""

    family: WireFamily
    path: str
    kind: str | None  # vendor or gateway kind of the host, None when unknown
    gateway: str | None
    operation: str
    attrs: dict[str, Any]  # the attributes every call to this endpoint starts with


class RequestFacts:
    """One attempt's request side (and, once settled, its place among attempts: `correlation.py`).

    Fields most calls leave empty have their defaults on the class."""

    query_key: str | None = None  # Gemini's `?key=` credential
    # from the body (`read`)
    model: str | None = None
    requested: str | None = None  # the canonical model asked for, for fallback detection
    streaming = False
    max_tokens: int | None = None
    captured_input: str | None = None  # opt-in prompt capture, cut at the limit
    capture_truncated = False
    body_key = 0
    # decided by `correlation.settle`
    call_id = ""
    attempt = 0
    fallback_from: str | None = None

    def __init__(
        self,
        route: Route,
        header_items: HeaderItems,
        body: bytes,
        tag_scope: tags.Scope | None,
        owner: int,
        began_at: float,
        capture_max: int | None,
    ) -> None:
        self.route = route
        self._header_items = header_items
        self._body: bytes | None = body  # until `read`
        self._tag_scope = tag_scope
        self._owner = owner  # the thread or asyncio task that made the request
        self.began_at = began_at  # perf_counter
        self.capture_max = capture_max

    @functools.cached_property
    def scope(self) -> tuple[int, int]:
        """Where retries are looked for (`correlation.py`): the request's thread or task, and its
        tag scope."""
        return self._owner, tags.serial_of(self._tag_scope)

    @functools.cached_property
    def headers(self) -> Mapping[bytes, bytes]:
        """Lower-cased header name -> value (made when first read, in the default setup on the
        spool's thread)."""
        return lowered(self._header_items)

    @property
    def kind(self) -> str | None:
        return self.route.kind

    def read(self) -> None:
        """Read the request's body, once (its bytes are let go)."""
        data = self._body
        if data is None:
            return
        self._body = None
        self.body_key = body_key(data)
        body = decode_body(data)
        family, path = self.route.family, self.route.path
        model = family.request_model(path, body)
        if model:
            self.model = model
            self.requested = canonical(model, None)[1]
        self.streaming = family.streaming(path, body)
        if body:
            self.max_tokens = max_tokens_of(body)
            if self.capture_max:
                self._capture_input(body, self.capture_max)

    def identity(self) -> tuple[int, str | None, int | None]:
        """What retry and fallback detection compare: (body key, model asked for, SDK retry count)."""
        self.read()
        retry_header = self.headers.get(b"x-stainless-retry-count")
        sdk_retry = int(retry_header) if retry_header and retry_header.isdigit() else None
        return self.body_key, self.requested, sdk_retry

    def span_name(self) -> str:
        """`{operation} {model}`, as the GenAI conventions name a call's span."""
        self.read()
        operation = self.route.operation
        return f"{operation} {self.model}" if self.model else operation

    def attributes(self) -> dict[str, Any]:
        """The span attributes the request gives (a new dict the caller may extend)."""
        self.read()
        a = self.route.attrs.copy()
        a[sc.GEN_AI_REQUEST_STREAM] = self.streaming
        if self.model:
            a[sc.GEN_AI_REQUEST_MODEL] = self.model
        if self.max_tokens is not None:
            a[sc.GEN_AI_REQUEST_MAX_TOKENS] = self.max_tokens
        if self.captured_input is not None:
            a[sc.GEN_AI_INPUT_MESSAGES] = self.captured_input
            if self.capture_truncated:
                a[sc.MM_CAPTURE_TRUNCATED] = True
        sdk_name, sdk_version = sdk.sdk_of(self.headers)
        if sdk_name:
            a[sc.MM_SDK] = sdk_name
        if sdk_version:
            a[sc.MM_SDK_VERSION] = sdk_version
        credential = keys.credential_of(self.headers, self.query_key, self.kind)
        if credential is not None:
            a[sc.MM_KEY_FINGERPRINT] = credential.fingerprint
            a[sc.MM_AUTH_KIND] = credential.kind
            for claim, value in credential.claims:
                a[sc.MM_KEY_CLAIM_PREFIX + claim] = value
        a.update(tags.attributes_of(self._tag_scope))
        a[sc.MM_CALL_ID] = self.call_id
        a[sc.MM_ATTEMPT] = self.attempt
        if self.fallback_from:
            a[sc.MM_FALLBACK_FROM] = self.fallback_from
        return a

    def _capture_input(self, body: dict[str, Any], limit: int) -> None:
        """Opt-in content capture: the prompt part of the request body, cut at `limit` bytes."""
        prompt = {k: body[k] for k in _PROMPT_FIELDS if k in body}
        text = orjson.dumps(prompt).decode()
        if len(text) > limit:
            text = text[:limit]
            self.capture_truncated = True
        self.captured_input = text


# a snapshot of an httpx-family `Headers`: (name as sent, lower-cased name, value), all bytes
HeaderItems = tuple[tuple[bytes, bytes, bytes], ...]


def lowered(items: HeaderItems) -> dict[bytes, bytes]:
    """Lower-cased header name -> value."""
    return dict(zip(map(_LOWER, items), map(_VALUE, items), strict=True))  # C-level, no Python loop


_LOWER, _VALUE = operator.itemgetter(1), operator.itemgetter(2)


def max_tokens_of(body: dict[str, Any]) -> int | None:
    """The output token limit a request body asks for, under any vendor's name for it."""
    value = body.get("max_tokens") or body.get("max_completion_tokens") or body.get("max_output_tokens")
    return value if isinstance(value, int) else None


_BODY_SAMPLE = 4096


def body_key(body: bytes) -> int:
    """What tells a retry's body from another request's (correlation.py): the hash of the whole body
    up to 16 KiB; past that, of its length and 4 KiB from its start, middle and end (hashing grows
    with the body, and runs on the app's thread for large ones)."""
    size = len(body)
    if size <= 4 * _BODY_SAMPLE:
        return hash(body)
    middle = size // 2 - _BODY_SAMPLE // 2
    return hash((size, body[:_BODY_SAMPLE], body[middle : middle + _BODY_SAMPLE], body[-_BODY_SAMPLE:]))


def decode_body(body: bytes) -> dict[str, Any] | None:
    if not body or body[:1] != b"{":
        return None
    if len(body) > MAX_PARSED_REQUEST_BYTES:
        return _sniff_large_body(body)
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return decoded if isinstance(decoded, dict) else None


_MODEL_FIELD = re.compile(rb'"model"\s*:\s*"([^"\\]{1,200})"')
_STREAM_FIELD = re.compile(rb'"stream"\s*:\s*true')


def _sniff_large_body(body: bytes) -> dict[str, Any]:
    """`model` and `stream` of a request too large to decode (big prompts, inline images): SDKs
    write these small fields before or after the prompt, so look at both ends only."""
    found: dict[str, Any] = {}
    for window in (body[-4096:], body[:4096]):
        if "model" not in found and (match := _MODEL_FIELD.search(window)):
            found["model"] = match.group(1).decode("utf-8", "replace")
        if _STREAM_FIELD.search(window):
            found["stream"] = True
    return found
