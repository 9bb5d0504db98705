"""What an AI request said: read on the app's thread as the request leaves, turned into span
attributes only when the call's span is completed (in the default setup on the spool's thread,
see `CallObservation.end`), so the app's thread does the least it can."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from modelmeter import semconv as sc
from modelmeter.instrument import keys, sdk

_PROMPT_FIELDS = ("system", "systemInstruction", "instructions", "messages", "input", "contents", "prompt")


class RequestFacts:
    """One attempt's request side. Fields most calls leave empty have their defaults on the class."""

    max_tokens: int | None = None
    query_key: str | None = None  # Gemini's `?key=` credential
    fallback_from: str | None = None
    captured_input: str | None = None  # opt-in prompt capture, cut at the limit
    capture_truncated = False

    def __init__(
        self,
        base: dict[str, Any],
        kind: str | None,
        gateway: str | None,
        headers: Mapping[bytes, bytes],
        model: str | None,
        streaming: bool,
        tags: tuple[tuple[str, str], ...],
        scope: tuple[int, int],
        call_id: str,
        attempt: int,
    ) -> None:
        self.base = base  # the endpoint's fixed attributes: shared, copied, never changed
        self.kind = kind  # vendor or gateway kind of the host, None when unknown
        self.gateway = gateway
        self.headers = headers  # lower-cased names
        self.model = model
        self.streaming = streaming
        self.tags = tags
        self.scope = scope
        self.call_id = call_id
        self.attempt = attempt

    def attributes(self) -> dict[str, Any]:
        """The span attributes the request gives (a new dict the caller may extend)."""
        a = self.base.copy()
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
        a.update(self.tags)
        a[sc.MM_CALL_ID] = self.call_id
        a[sc.MM_ATTEMPT] = self.attempt
        if self.fallback_from:
            a[sc.MM_FALLBACK_FROM] = self.fallback_from
        return a

    def capture_input(self, body: dict[str, Any], limit: int) -> None:
        """Opt-in content capture: the prompt part of the request body, cut at `limit` bytes."""
        prompt = {k: body[k] for k in _PROMPT_FIELDS if k in body}
        text = orjson.dumps(prompt).decode()
        if len(text) > limit:
            text = text[:limit]
            self.capture_truncated = True
        self.captured_input = text


def max_tokens_of(body: dict[str, Any]) -> int | None:
    """The output token limit a request body asks for, under any vendor's name for it."""
    value = body.get("max_tokens") or body.get("max_completion_tokens") or body.get("max_output_tokens")
    return value if isinstance(value, int) else None
