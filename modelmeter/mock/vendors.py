"""Which wire families each mock vendor serves, on which paths, with which headers and error shapes."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from modelmeter.mock.answer import Answer, Ask
from modelmeter.mock.families import (
    anthropic,
    cohere,
    embeddings,
    gemini,
    images,
    openai_chat,
    openai_responses,
)
from modelmeter.mock.http11 import HttpRequest


def body_model(_request: HttpRequest, body: dict[str, Any]) -> str | None:
    model = body.get("model")
    return model if isinstance(model, str) else None


def body_stream(_request: HttpRequest, body: dict[str, Any]) -> bool:
    return body.get("stream") is True


@dataclass(frozen=True)
class Family:
    """A wire family: how to read the request, build the answer, and fail after a 200."""

    operation: str
    build: Callable[[Ask], Answer]
    stream_error: Callable[[Ask], bytes]
    error_in_200: Callable[[Ask], dict[str, Any]]
    model_of: Callable[[HttpRequest, dict[str, Any]], str | None] = body_model
    streaming_of: Callable[[HttpRequest, dict[str, Any]], bool] = body_stream


CHAT = Family("chat", openai_chat.build_chat, openai_chat.stream_error_frame, openai_chat.error_in_200_body)
MESSAGES = Family("chat", anthropic.build_messages, anthropic.stream_error_frame, anthropic.error_in_200_body)
RESPONSES = Family(
    "responses",
    openai_responses.build_response,
    openai_responses.stream_error_frame,
    openai_responses.error_in_200_body,
)
EMBEDDINGS = Family(
    "embeddings", embeddings.build_embeddings, openai_chat.stream_error_frame, openai_chat.error_in_200_body
)
IMAGES = Family("images", images.build_images, openai_chat.stream_error_frame, openai_chat.error_in_200_body)
COHERE_CHAT = Family("chat", cohere.build_chat_v2, cohere.stream_error_frame, cohere.error_in_200_body)
GENERATE_CONTENT = Family(
    "generate_content",
    gemini.build_generate_content,
    gemini.stream_error_frame,
    gemini.error_in_200_body,
    model_of=lambda request, _body: gemini.model_from_path(request),
    streaming_of=lambda request, _body: gemini.is_streaming(request),
)


@dataclass(frozen=True)
class Route:
    method: str
    path: re.Pattern[str]
    family: Family
    errors: str  # error-body style, see modelmeter.mock.errors
    gateway: str | None = None


def _route(path: str, family: Family, errors: str, gateway: str | None = None) -> Route:
    return Route("POST", re.compile(path), family, errors, gateway)


def _reset_in(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds))


def openai_headers(request_id: str, served: int) -> list[tuple[str, str]]:
    return [
        ("x-request-id", request_id),
        ("openai-processing-ms", "212"),
        ("openai-version", "2020-10-01"),
        ("openai-organization", "org-mock"),
        ("x-ratelimit-limit-requests", "10000"),
        ("x-ratelimit-limit-tokens", "2000000"),
        ("x-ratelimit-remaining-requests", str(9999 - served % 10000)),
        ("x-ratelimit-remaining-tokens", str(1999000 - 37 * (served % 50000))),
        ("x-ratelimit-reset-requests", "6ms"),
        ("x-ratelimit-reset-tokens", "8ms"),
    ]


def anthropic_headers(request_id: str, served: int) -> list[tuple[str, str]]:
    headers = [
        ("request-id", request_id),
        ("anthropic-organization-id", "00000000-0000-4000-8000-00000000m0ck"),
    ]
    for kind, limit in (
        ("requests", 4000),
        ("tokens", 2_000_000),
        ("input-tokens", 1_600_000),
        ("output-tokens", 400_000),
    ):
        headers += [
            (f"anthropic-ratelimit-{kind}-limit", str(limit)),
            (f"anthropic-ratelimit-{kind}-remaining", str(limit - 1 - served % limit)),
            (f"anthropic-ratelimit-{kind}-reset", _reset_in(1)),
        ]
    return headers


def mistral_headers(request_id: str, served: int) -> list[tuple[str, str]]:
    return [
        ("mistral-correlation-id", request_id),
        ("x-kong-request-id", request_id),
        ("x-ratelimit-limit-req-minute", "600"),
        ("x-ratelimit-remaining-req-minute", str(599 - served % 600)),
        ("x-ratelimit-limit-tokens-minute", "500000"),
        ("x-ratelimit-remaining-tokens-minute", str(499000 - served % 400000)),
    ]


def groq_headers(request_id: str, served: int) -> list[tuple[str, str]]:
    return [
        ("x-request-id", request_id),
        ("x-groq-region", "mock"),
        ("x-ratelimit-limit-requests", "14400"),
        ("x-ratelimit-limit-tokens", "300000"),
        ("x-ratelimit-remaining-requests", str(14399 - served % 14400)),
        ("x-ratelimit-remaining-tokens", str(299000 - served % 200000)),
        ("x-ratelimit-reset-requests", "6s"),
        ("x-ratelimit-reset-tokens", "200ms"),
    ]


def plain_request_id(header: str) -> Callable[[str, int], list[tuple[str, str]]]:
    return lambda request_id, _served: [(header, request_id)]


def no_headers(_request_id: str, _served: int) -> list[tuple[str, str]]:
    return []


@dataclass(frozen=True)
class Vendor:
    """One mock server: its routes, base path, request-id header and response headers."""

    name: str
    base_path: str
    routes: tuple[Route, ...]
    errors: str
    request_id_prefix: str | None
    headers: Callable[[str, int], list[tuple[str, str]]] = no_headers
    sends_retry_after_ms: bool = False
    extra_headers: tuple[tuple[str, str], ...] = field(default=())

    def match(self, request: HttpRequest) -> Route | None:
        return next(
            (r for r in self.routes if r.method == request.method and r.path.match(request.path)),
            None,
        )


VENDORS: dict[str, Vendor] = {
    v.name: v
    for v in (
        Vendor(
            "openai",
            "/v1",
            (
                _route(r"^/v1/chat/completions$", CHAT, "openai"),
                _route(r"^/v1/responses$", RESPONSES, "openai"),
                _route(r"^/v1/embeddings$", EMBEDDINGS, "openai"),
                _route(r"^/v1/images/generations$", IMAGES, "openai"),
            ),
            "openai",
            "req_mock",
            openai_headers,
            sends_retry_after_ms=True,
        ),
        Vendor(
            "anthropic",
            "",
            (_route(r"^/v1/messages$", MESSAGES, "anthropic"),),
            "anthropic",
            "req_01MOCK",
            anthropic_headers,
        ),
        Vendor("gemini", "", (_route(gemini.PATH.pattern, GENERATE_CONTENT, "gemini"),), "gemini", None),
        Vendor(
            "mistral",
            "",
            (
                _route(r"^/v1/chat/completions$", CHAT, "mistral"),
                _route(r"^/v1/embeddings$", EMBEDDINGS, "mistral"),
            ),
            "mistral",
            "mock-",
            mistral_headers,
        ),
        Vendor(
            "groq",
            "",
            (
                _route(r"^/openai/v1/chat/completions$", CHAT, "openai"),
                _route(r"^/openai/v1/embeddings$", EMBEDDINGS, "openai"),
            ),
            "openai",
            "req_mock",
            groq_headers,
            sends_retry_after_ms=True,
        ),
        Vendor(
            "cohere",
            "",
            (_route(r"^/v2/chat$", COHERE_CHAT, "cohere"),),
            "cohere",
            "c0ffee00-0000-4000-8000-",
            plain_request_id("x-request-id"),
        ),
        Vendor(
            "vercel",
            "/v1",
            (
                _route(r"^/v1/chat/completions$", CHAT, "vercel", "vercel"),
                _route(r"^/v1/responses$", RESPONSES, "vercel", "vercel"),
                _route(r"^/v1/embeddings$", EMBEDDINGS, "vercel", "vercel"),
                _route(r"^/v1/messages$", MESSAGES, "anthropic", "vercel"),
            ),
            "vercel",
            "iad1::mock-",
            plain_request_id("x-vercel-id"),
            extra_headers=(("server", "Vercel"),),
        ),
        Vendor(
            "openrouter",
            "/api/v1",
            (
                _route(r"^/api/v1/chat/completions$", CHAT, "openrouter", "openrouter"),
                _route(r"^/api/v1/embeddings$", EMBEDDINGS, "openrouter", "openrouter"),
            ),
            "openrouter",
            None,
        ),
    )
}
