"""Gemini `generateContent` / `streamGenerateContent` (Gemini API and Vertex AI paths).

The model is in the URL. Streams are SSE framed with CRLF and end with the connection, with no
marker; without `alt=sse` a stream is one JSON array sent in pieces. Usage is cumulative per chunk.
A request offering built-in tools (Google Search, URL context, code execution) gets a tool-use prompt
(`toolUsePromptTokenCount`, outside `promptTokenCount`, inside `totalTokenCount`), billed as input.
"""

from __future__ import annotations

import re
from typing import Any

from modelmeter.mock.answer import Answer, Ask, Frame, dumps, sse
from modelmeter.mock.calls import MockUsage
from modelmeter.mock.http11 import HttpRequest
from modelmeter.mock.text import (
    answer_pieces,
    count_tokens,
    fit_to_limit,
    implicit_cached_tokens,
    input_tokens,
    is_reasoning_model,
    prompt_text,
    reasoning_tokens,
)

PATH = re.compile(
    r"^/(?:v1|v1beta|v1beta1)/(?:projects/[^/]+/locations/[^/]+/publishers/google/)?"
    r"models/(?P<model>[^:/]+):(?P<verb>generateContent|streamGenerateContent)$"
)


def model_from_path(request: HttpRequest) -> str | None:
    match = PATH.match(request.path)
    return match["model"] if match else None


def is_streaming(request: HttpRequest) -> bool:
    return request.path.endswith(":streamGenerateContent")


def _thinks(ask: Ask) -> bool:
    config = (ask.body.get("generationConfig") or {}).get("thinkingConfig") or {}
    budget = config.get("thinkingBudget", config.get("thinking_budget"))  # google-genai sends the latter
    return is_reasoning_model(ask.model) and budget != 0


def gemini_usage(ask: Ask, output: int) -> tuple[MockUsage, dict[str, Any]]:
    """Usage and `usageMetadata`; zero-valued fields are left out as Google does."""
    prompt = input_tokens(prompt_text([ask.body.get("systemInstruction"), ask.body.get("contents")]))
    cached = prompt // 2 if ask.body.get("cachedContent") else implicit_cached_tokens(prompt)
    thoughts = reasoning_tokens(ask.model, output) if _thinks(ask) else 0
    tool_use = _tool_use_prompt_tokens(ask.body)
    usage = MockUsage(
        prompt + tool_use, output + thoughts, cache_read_tokens=cached, reasoning_tokens=thoughts
    )
    wire: dict[str, Any] = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": output,
        "totalTokenCount": prompt + output + thoughts + tool_use,
    }
    if cached:
        wire["cachedContentTokenCount"] = cached
    if thoughts:
        wire["thoughtsTokenCount"] = thoughts
    if tool_use:
        wire["toolUsePromptTokenCount"] = tool_use
        wire["toolUsePromptTokensDetails"] = [{"modality": "TEXT", "tokenCount": tool_use}]
    wire["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": prompt}]
    if cached:
        wire["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": cached}]
    return usage, wire


_BUILT_IN_TOOLS = (
    "googleSearch",
    "google_search",
    "urlContext",
    "url_context",
    "codeExecution",
    "code_execution",
)


def _tool_use_prompt_tokens(body: dict[str, Any]) -> int:
    """What the built-in tools feed the model (search results, fetched pages): 120 per tool offered."""
    tools = [t for t in body.get("tools") or () if isinstance(t, dict)]
    return 120 * sum(1 for tool in tools for name in _BUILT_IN_TOOLS if name in tool)


def build_generate_content(ask: Ask) -> Answer:
    config = ask.body.get("generationConfig") or {}
    pieces, truncated = fit_to_limit(
        answer_pieces(ask.model + prompt_text(ask.body.get("contents")), ask.chunks),
        config.get("maxOutputTokens"),
    )
    content = "".join(pieces)
    finish = "MAX_TOKENS" if truncated else "STOP"
    usage, wire = gemini_usage(ask, count_tokens(content))
    response_id = ask.make_id("mOcKrEsPoNsE", 12)
    common = {"modelVersion": ask.model, "responseId": response_id}
    answer = Answer(
        operation="generate_content",
        response_model=ask.model,
        provider="google",
        response_id=response_id,
        finish_reason=finish,
        content=content,
    )

    def candidate(text: str, finish_reason: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}
        return body | ({"finishReason": finish_reason} if finish_reason else {})

    if not ask.streaming:
        answer.body = {"candidates": [candidate(content, finish)], "usageMetadata": wire} | common
        answer.usage, answer.wire_usage = usage, wire
        return answer
    running_wire = {"promptTokenCount": wire["promptTokenCount"], "totalTokenCount": wire["promptTokenCount"]}
    running = MockUsage(usage.input_tokens, 0, cache_read_tokens=usage.cache_read_tokens)
    as_sse = ask.request.query.get("alt") == "sse"
    answer.frames = []
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        meta = wire if last else running_wire
        chunk = {"candidates": [candidate(piece, finish if last else None)], "usageMetadata": meta} | common
        data = sse(chunk, crlf=True) if as_sse else (b"[" if index == 0 else b",\r\n") + dumps(chunk)
        answer.frames.append(
            Frame(data, output=True, text=piece, usage=usage if last else running, wire_usage=meta)
        )
    if as_sse:
        answer.content_type = "text/event-stream"
    else:
        answer.frames.append(Frame(b"]", terminal=True))
    return answer


def stream_error_frame(_ask: Ask) -> bytes:
    return sse(
        {
            "error": {
                "code": 503,
                "message": "The model is overloaded. Please try again later.",
                "status": "UNAVAILABLE",
            }
        },
        crlf=True,
    )


def error_in_200_body(_ask: Ask) -> dict[str, Any]:
    return {"error": {"code": 500, "message": "An internal error has occurred.", "status": "INTERNAL"}}
