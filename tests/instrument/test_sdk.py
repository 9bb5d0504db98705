"""Which SDK made a request, from its identity headers (instrument/sdk.py)."""

from __future__ import annotations

import pytest

from modelmeter.instrument.sdk import sdk_of


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({b"user-agent": b"OpenAI/Python 3.57.0"}, ("openai", "3.57.0")),
        ({b"user-agent": b"AsyncAnthropic/Python 2.14.0"}, ("anthropic", "2.14.0")),
        ({b"x-goog-api-client": b"google-genai-sdk/3.6.1 gl-python/3.11.7"}, ("google-genai", "3.6.1")),
        ({b"x-fern-sdk-name": b"cohere", b"x-fern-sdk-version": b"7.3.1"}, ("cohere", "7.3.1")),
        ({b"user-agent": b"speakeasy-sdk/python 3.7.0 2.700.0 1.0.0 mistralai"}, ("mistralai", "3.7.0")),
        ({b"user-agent": b"python-httpx/0.28.1"}, ("httpx", "0.28.1")),
        ({}, (None, None)),
    ],
)
def test_sdk_name_and_version_come_from_identity_headers(
    headers: dict[bytes, bytes], expected: tuple[str | None, str | None]
) -> None:
    assert sdk_of(headers) == expected
