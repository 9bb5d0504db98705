"""Anthropic Messages (`POST /v1/messages`), direct or through the Vercel AI Gateway.

`input_tokens` on the wire counts only uncached input; cache reads and writes come separately. A
request with `cache_control` blocks writes its prefix on first sight and reads it afterwards.
"""

from __future__ import annotations

from typing import Any

from modelmeter.mock.answer import Answer, Ask, Frame, sse
from modelmeter.mock.calls import MockUsage
from modelmeter.mock.gateways import reported_cost, vercel_gateway_metadata
from modelmeter.mock.text import (
    answer_pieces,
    count_tokens,
    fit_to_limit,
    input_tokens,
    model_vendor,
    prompt_text,
)


def _blocks(body: dict[str, Any]) -> list[Any]:
    """Prompt blocks in cache order: tools, then system, then each message's content."""
    blocks: list[Any] = list(body.get("tools") or [])
    system = body.get("system")
    blocks += system if isinstance(system, list) else [system] if system else []
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else message
        blocks += content if isinstance(content, list) else [content]
    return blocks


def messages_usage(ask: Ask, output: int) -> tuple[MockUsage, dict[str, Any]]:
    """Normalised usage and the wire usage object (uncached input apart from cache reads/writes)."""
    blocks = _blocks(ask.body)
    total = input_tokens(prompt_text(blocks))
    marked = [i for i, block in enumerate(blocks) if isinstance(block, dict) and block.get("cache_control")]
    read = write = 0
    ttl = "5m"
    if marked:
        prefix_text = prompt_text(blocks[: marked[-1] + 1])
        prefix = min(count_tokens(prefix_text), total - 1)
        ttl = str(blocks[marked[-1]]["cache_control"].get("ttl", "5m"))
        if ask.seen_prefix(f"{ask.model}\x1f{prefix_text}"):
            read = prefix
        else:
            write = prefix
    usage = MockUsage(total, output, cache_read_tokens=read, cache_write_tokens=write)
    wire = {
        "input_tokens": total - read - write,
        "cache_creation_input_tokens": write,
        "cache_read_input_tokens": read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": write if ttl != "1h" else 0,
            "ephemeral_1h_input_tokens": write if ttl == "1h" else 0,
        },
        "output_tokens": output,
        "service_tier": "standard",
    }
    return usage, wire


def build_messages(ask: Ask) -> Answer:
    pieces, truncated = fit_to_limit(
        answer_pieces(ask.model + prompt_text(ask.body.get("messages")), ask.chunks),
        ask.body.get("max_tokens"),
    )
    content = "".join(pieces)
    stop_reason = "max_tokens" if truncated else "end_turn"
    usage, wire = messages_usage(ask, count_tokens(content))
    message_id = ask.make_id("msg_01MOCK", 18)
    answer = Answer(
        operation="chat",
        response_model=ask.model,
        provider=model_vendor(ask.model),
        response_id=message_id,
        finish_reason=stop_reason,
        content=content,
        served_by=ask.routing.served_by if ask.routing else None,
    )
    metadata = (
        {"provider_metadata": {"gateway": vercel_gateway_metadata(ask, usage)}}
        if ask.routing is not None
        else {}
    )
    cost = reported_cost(ask, usage) if ask.routing is not None else None
    skeleton: dict[str, Any] = {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": ask.model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
    }
    if not ask.streaming:
        answer.body = skeleton | {
            "content": [{"type": "text", "text": content}],
            "stop_reason": stop_reason,
            "usage": wire,
        }
        answer.body |= metadata
        answer.usage, answer.wire_usage, answer.reported_cost_usd = usage, wire, cost
        return answer
    start_wire = {k: v for k, v in wire.items() if k != "output_tokens"} | {"output_tokens": 1}
    start_usage = MockUsage(usage.input_tokens, 1, usage.cache_read_tokens, usage.cache_write_tokens)
    frames = [
        Frame(
            sse({"type": "message_start", "message": skeleton | {"usage": start_wire}}, "message_start"),
            usage=start_usage,
            wire_usage=start_wire,
        ),
        Frame(
            sse(
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                "content_block_start",
            )
        ),
        Frame(sse({"type": "ping"}, "ping")),
    ]
    frames += [
        Frame(
            sse(
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}},
                "content_block_delta",
            ),
            output=True,
            text=piece,
        )
        for piece in pieces
    ]
    delta_usage = {
        k: wire[k]
        for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")
    }
    frames += [
        Frame(sse({"type": "content_block_stop", "index": 0}, "content_block_stop")),
        Frame(
            sse(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                    "usage": delta_usage,
                }
                | metadata,
                "message_delta",
            ),
            usage=usage,
            wire_usage=delta_usage,
            cost=cost,
        ),
        Frame(sse({"type": "message_stop"}, "message_stop"), terminal=True),
    ]
    answer.frames = frames
    answer.content_type = "text/event-stream"
    return answer


def stream_error_frame(_ask: Ask) -> bytes:
    return sse({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, "error")


def error_in_200_body(_ask: Ask) -> dict[str, Any]:
    return {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
