"""Which client library made a request, from the identity headers each SDK family sends.

Stainless SDKs (openai, anthropic, groq, ...) send `User-Agent: OpenAI/Python 3.57.0` plus
`x-stainless-*`; google-genai sends `x-goog-api-client: google-genai-sdk/3.6.1 ...`; Fern SDKs
(cohere) send `x-fern-sdk-name` / `x-fern-sdk-version`; Speakeasy SDKs (mistralai) send
`user-agent: speakeasy-sdk/python <sdk version> <generator> <api version> <package>`. A plain
client is named by its own User-Agent (`python-httpx/0.28.1` -> httpx).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache


def sdk_of(headers: Mapping[bytes, bytes]) -> tuple[str | None, str | None]:
    """(sdk name, version) from lower-case request header names."""
    fern = headers.get(b"x-fern-sdk-name")
    if fern:
        version = headers.get(b"x-fern-sdk-version")
        return fern.decode("latin-1"), version.decode("latin-1") if version else None
    goog = headers.get(b"x-goog-api-client")
    if goog:
        return _first_product(goog.decode("latin-1"))
    agent = headers.get(b"user-agent")
    return _from_user_agent(agent.decode("latin-1")) if agent else (None, None)


@lru_cache(maxsize=256)
def _from_user_agent(agent: str) -> tuple[str | None, str | None]:
    words = agent.split()
    if not words:
        return None, None
    if words[0].startswith("speakeasy-sdk/") and len(words) >= 2:
        return words[-1] if len(words) >= 5 else "speakeasy-sdk", words[1]
    return _first_product(agent)


@lru_cache(maxsize=256)
def _first_product(text: str) -> tuple[str | None, str | None]:
    words = text.split()
    if not words:
        return None, None
    name, _, version = words[0].partition("/")
    if version.lower() == "python" and len(words) > 1:  # Stainless: "OpenAI/Python 3.57.0"
        version = words[1]
    name = name.lower().removeprefix("python-").removeprefix("async")  # AsyncOpenAI/Python -> openai
    if name.endswith("-sdk"):
        name = name[: -len("-sdk")]
    return name or None, version or None
