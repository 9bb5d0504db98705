"""OpenAI Chat Completions and the vendors that speak it: OpenAI, Mistral, Groq, Vercel, OpenRouter.

They share framing (`data: {chunk}` ... `data: [DONE]`) and differ in small ways, each written where
it happens: where streamed usage goes (only with `stream_options.include_usage`, always on the
finish chunk, or always in a chunk of its own), id prefixes, and the extras gateways add.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from modelmeter.mock.answer import Answer, Ask, Frame, sse
from modelmeter.mock.calls import MockUsage
from modelmeter.mock.gateways import cost_fields, is_byok, reported_cost, vercel_gateway_metadata
from modelmeter.mock.text import (
    answer_pieces,
    count_tokens,
    fit_to_limit,
    implicit_cached_tokens,
    input_tokens,
    model_vendor,
    prompt_text,
    reasoning_tokens,
)

DONE = b"data: [DONE]\n\n"
OPENROUTER_COMMENT = b": OPENROUTER PROCESSING\n\n"

# aliases OpenAI resolves to a dated snapshot in the response
_SNAPSHOTS = {
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
    "gpt-5": "gpt-5-2025-08-07",
    "gpt-5-mini": "gpt-5-mini-2025-08-07",
    "gpt-5-nano": "gpt-5-nano-2025-08-07",
    "o4-mini": "o4-mini-2025-04-16",
    "o3": "o3-2025-04-16",
}


def openai_snapshot(model: str) -> str:
    return _SNAPSHOTS.get(model, model)


def chat_usage(ask: Ask, visible_output: int, *, caches: bool) -> MockUsage:
    """Usage of a chat answer: prompt from the messages, reasoning for thinking models."""
    prompt = input_tokens(prompt_text(ask.body.get("messages")))
    reasoning = reasoning_tokens(ask.model, visible_output)
    cached = implicit_cached_tokens(prompt) if caches else 0
    return MockUsage(prompt, visible_output + reasoning, cache_read_tokens=cached, reasoning_tokens=reasoning)


def chat_wire_usage(ask: Ask, usage: MockUsage) -> dict[str, Any]:
    """The `usage` object as this vendor writes it."""
    base: dict[str, Any] = {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
    }
    if ask.vendor == "mistral":
        return base
    if ask.vendor == "groq":
        return base | {
            "queue_time": 0.0123,
            "prompt_time": 0.0042,
            "completion_time": 0.0211,
            "total_time": 0.0253,
        }
    base["prompt_tokens_details"] = {"cached_tokens": usage.cache_read_tokens, "audio_tokens": 0}
    base["completion_tokens_details"] = {
        "reasoning_tokens": usage.reasoning_tokens,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    }
    if ask.routing is not None:
        if ask.routing.gateway == "openrouter":
            base["prompt_tokens_details"]["cache_write_tokens"] = usage.cache_write_tokens
        base |= cost_fields(ask, usage)
    return base


def _id_prefix(ask: Ask) -> str:
    if ask.routing is not None:
        return "gen_01JMOCK" if ask.routing.gateway == "vercel" else "gen-MOCK"
    return {"mistral": "cmpl-mock", "groq": "chatcmpl-mock"}.get(ask.vendor, "chatcmpl-MOCK")


def _response_model(ask: Ask) -> str:
    return openai_snapshot(ask.model) if ask.vendor == "openai" else ask.model


def build_chat(ask: Ask) -> Answer:
    pieces, truncated = fit_to_limit(
        answer_pieces(ask.model + prompt_text(ask.body.get("messages")), ask.chunks),
        ask.body.get("max_completion_tokens") or ask.body.get("max_tokens"),
    )
    content = "".join(pieces)
    finish = "length" if truncated else "stop"
    usage = chat_usage(
        ask, count_tokens(content), caches=ask.vendor != "mistral" and model_vendor(ask.model) == "openai"
    )
    wire_usage = chat_wire_usage(ask, usage)
    response_id = ask.make_id(_id_prefix(ask), 19 if ask.routing and ask.routing.gateway == "vercel" else 12)
    model = _response_model(ask)
    common: dict[str, Any] = {"id": response_id, "created": int(time.time()), "model": model}
    gateway = ask.routing.gateway if ask.routing else None
    if gateway == "openrouter":
        common["provider"] = ask.routing.served_by if ask.routing else None
    elif ask.vendor == "openai":
        # OpenAI answers with the tier that served the call: the one asked for, `default` for `auto`
        tier = ask.body.get("service_tier")
        served_tier = tier if isinstance(tier, str) and tier != "auto" else "default"
        common |= {"service_tier": served_tier, "system_fingerprint": "fp_mock01"}
    answer = Answer(
        operation="chat",
        response_model=model,
        provider=model_vendor(ask.model),
        response_id=response_id,
        finish_reason=finish,
        content=content,
        served_by=ask.routing.served_by if ask.routing else None,
        byok=is_byok(ask),
    )
    cost = reported_cost(ask, usage) if ask.routing else None
    if not ask.streaming:
        message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
        if gateway == "vercel":
            message["provider_metadata"] = {"gateway": vercel_gateway_metadata(ask, usage)}
        answer.body = common | {
            "object": "chat.completion",
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
            "usage": wire_usage,
        }
        answer.usage, answer.wire_usage, answer.reported_cost_usd = usage, wire_usage, cost
        return answer
    answer.frames = _chat_frames(ask, common, pieces, finish, usage, wire_usage, cost)
    answer.content_type = "text/event-stream"
    return answer


def _chat_frames(
    ask: Ask,
    common: dict[str, Any],
    pieces: list[str],
    finish: str,
    usage: MockUsage,
    wire_usage: dict[str, Any],
    cost: Decimal | None,
) -> list[Frame]:
    gateway = ask.routing.gateway if ask.routing else None
    include_usage = bool((ask.body.get("stream_options") or {}).get("include_usage"))
    chunk = common | {"object": "chat.completion.chunk"}

    def delta(body: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> dict[str, Any]:
        return (
            chunk
            | {"choices": [{"index": 0, "delta": body, "logprobs": None, "finish_reason": finish_reason}]}
            | extra
        )

    frames = [Frame(OPENROUTER_COMMENT)] if gateway == "openrouter" else []
    frames.append(Frame(sse(delta({"role": "assistant", "content": "", "refusal": None}))))
    for index, piece in enumerate(pieces):
        body: dict[str, Any] = {"content": piece}
        if gateway == "vercel" and index == 0:
            body["provider_metadata"] = {"gateway": {"generationId": common["id"]}}
        frames.append(Frame(sse(delta(body)), output=True, text=piece))

    final: dict[str, Any] = {}
    if gateway == "vercel":
        final["provider_metadata"] = {"gateway": vercel_gateway_metadata(ask, usage)}
    if ask.vendor == "mistral":
        frames.append(Frame(sse(delta(final, finish, usage=wire_usage)), usage=usage, wire_usage=wire_usage))
    elif ask.vendor == "groq":
        x_groq = {"id": ask.make_id("req_mock"), "usage": wire_usage}
        frames.append(Frame(sse(delta(final, finish, x_groq=x_groq)), usage=usage, wire_usage=wire_usage))
    else:
        frames.append(Frame(sse(delta(final, finish)), cost=cost if gateway == "vercel" else None))
    if include_usage or gateway == "openrouter":
        frames.append(
            Frame(
                sse(chunk | {"choices": [], "usage": wire_usage}),
                usage=usage,
                wire_usage=wire_usage,
                cost=cost if gateway else None,
            )
        )
    frames.append(Frame(DONE, terminal=True))
    return frames


def stream_error_frame(ask: Ask) -> bytes:
    """What an OpenAI-style stream carries when it fails after the 200."""
    if ask.routing is not None and ask.routing.gateway == "openrouter":
        return sse(
            {
                "id": ask.make_id("gen-MOCK"),
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": ask.model,
                "provider": ask.routing.served_by,
                "error": {"code": 502, "message": "Upstream provider error: connection dropped"},
                "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
            }
        )
    return sse(
        {
            "error": {
                "message": "The server had an error while processing your request.",
                "type": "server_error",
                "param": None,
                "code": None,
            }
        }
    )


def error_in_200_body(ask: Ask) -> dict[str, Any]:
    """A non-streamed error delivered with HTTP 200 (OpenRouter's way; others send the error object)."""
    if ask.routing is not None and ask.routing.gateway == "openrouter":
        return {
            "id": ask.make_id("gen-MOCK"),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": ask.model,
            "provider": ask.routing.served_by,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": ""},
                    "finish_reason": "error",
                    "error": {"code": 502, "message": "Upstream provider error"},
                }
            ],
        }
    return {
        "error": {
            "message": "The server had an error while processing your request.",
            "type": "server_error",
            "param": None,
            "code": None,
        }
    }
