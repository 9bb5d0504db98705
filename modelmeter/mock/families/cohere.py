"""Cohere v2 chat (`POST /v2/chat`): its own JSON shape and named SSE events, no model in the response.

Usage has two views: `billed_units` (what is charged, used as the truth here) and `tokens` (what the
model saw, including Cohere's prompt template, so larger).
"""

from __future__ import annotations

from typing import Any

from modelmeter.mock.answer import Answer, Ask, Frame, sse
from modelmeter.mock.calls import MockUsage
from modelmeter.mock.text import answer_pieces, count_tokens, fit_to_limit, input_tokens, prompt_text

TEMPLATE_TOKENS = 215


def build_chat_v2(ask: Ask) -> Answer:
    pieces, truncated = fit_to_limit(
        answer_pieces(ask.model + prompt_text(ask.body.get("messages")), ask.chunks),
        ask.body.get("max_tokens"),
    )
    content = "".join(pieces)
    finish = "MAX_TOKENS" if truncated else "COMPLETE"
    prompt, output = input_tokens(prompt_text(ask.body.get("messages"))), count_tokens(content)
    usage = MockUsage(prompt, output)
    wire = {
        "billed_units": {"input_tokens": prompt, "output_tokens": output},
        "tokens": {"input_tokens": prompt + TEMPLATE_TOKENS, "output_tokens": output + 2},
        "cached_tokens": 0,
    }
    response_id = ask.make_id("c0ffee00-0000-4000-8000-", 12)
    answer = Answer(
        operation="chat",
        response_model=None,
        provider="cohere",
        response_id=response_id,
        finish_reason=finish,
        content=content,
    )
    if not ask.streaming:
        answer.body = {
            "id": response_id,
            "finish_reason": finish,
            "message": {"role": "assistant", "content": [{"type": "text", "text": content}]},
            "usage": wire,
        }
        answer.usage, answer.wire_usage = usage, wire
        return answer

    def event(name: str, **fields: Any) -> bytes:
        return sse({"type": name} | fields, name)

    frames = [
        Frame(
            event(
                "message-start",
                id=response_id,
                delta={
                    "message": {
                        "role": "assistant",
                        "content": [],
                        "tool_plan": "",
                        "tool_calls": [],
                        "citations": [],
                    }
                },
            )
        ),
        Frame(event("content-start", index=0, delta={"message": {"content": {"type": "text", "text": ""}}})),
    ]
    frames += [
        Frame(
            event("content-delta", index=0, delta={"message": {"content": {"text": piece}}}),
            output=True,
            text=piece,
        )
        for piece in pieces
    ]
    frames += [
        Frame(event("content-end", index=0)),
        Frame(
            event("message-end", delta={"finish_reason": finish, "usage": wire}),
            terminal=True,
            usage=usage,
            wire_usage=wire,
        ),
    ]
    answer.frames = frames
    answer.content_type = "text/event-stream"
    return answer


def stream_error_frame(_ask: Ask) -> bytes:
    return sse(
        {"type": "message-end", "delta": {"finish_reason": "ERROR", "error": "internal server error"}},
        "message-end",
    )


def error_in_200_body(ask: Ask) -> dict[str, Any]:
    return {
        "id": ask.make_id("c0ffee00-0000-4000-8000-", 12),
        "finish_reason": "ERROR",
        "message": {"role": "assistant", "content": []},
    }
