"""Anthropic Messages (`POST /v1/messages`), direct or through the Vercel AI Gateway.

`input_tokens` on the wire counts only uncached input; cache reads and writes come separately. A
request with `cache_control` blocks writes its prefix on first sight and reads it afterwards.
What a request turns on shows in the usage as the API reports it: extended thinking
(`thinking.type` enabled or adaptive) as `output_tokens_details.thinking_tokens`, part of
`output_tokens`; server tools (`web_search_*`, `web_fetch_*`) as `server_tool_use` request counts;
context compaction (a `compact_*` edit in `context_management`) as a compaction step in
`usage.iterations[]` whose tokens the top-level fields leave out. Streams send thinking, server-tool
counts and iterations in the final `message_delta`.
"""

from __future__ import annotations

from typing import Any

from modelmeter.mock.answer import Answer, Ask, Frame, sse
from modelmeter.mock.calls import MockUsage
from modelmeter.mock.gateways import is_byok, reported_cost, vercel_gateway_metadata
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


def messages_usage(ask: Ask, visible_output: int) -> tuple[MockUsage, dict[str, Any]]:
    """Normalised usage (summed over every sampling step) and the wire usage object."""
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
    thinking = _thinking_tokens(ask.body, visible_output)
    output = visible_output + thinking
    wire: dict[str, Any] = {
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
    if thinking:
        wire["output_tokens_details"] = {"thinking_tokens": thinking}
    tools = _server_tool_use(ask.body)
    if tools is not None:
        wire["server_tool_use"] = tools
    usage = MockUsage(
        total, output, cache_read_tokens=read, cache_write_tokens=write, reasoning_tokens=thinking
    )
    if _compacts(ask.body):
        # the compaction step reads the whole context and writes a summary; the top level stays
        # the message step's, as the API reports it
        summary = max(16, total // 8)
        wire["iterations"] = [
            {
                "type": "compaction",
                "input_tokens": total,
                "output_tokens": summary,
                "cache_read_input_tokens": 0,
                "cache_creation_input_tokens": 0,
            },
            {
                "type": "message",
                "input_tokens": total - read - write,
                "output_tokens": output,
                "cache_read_input_tokens": read,
                "cache_creation_input_tokens": write,
            },
        ]
        usage = MockUsage(2 * total, summary + output, read, write, thinking)
    return usage, wire


def _thinking_tokens(body: dict[str, Any], visible_output: int) -> int:
    thinking = body.get("thinking")
    if not isinstance(thinking, dict) or thinking.get("type") not in ("enabled", "adaptive"):
        return 0
    budget = thinking.get("budget_tokens")
    tokens = 4 * visible_output + 11
    return min(tokens, budget) if isinstance(budget, int) and budget > 0 else tokens


def _server_tool_use(body: dict[str, Any]) -> dict[str, int] | None:
    """One request per server tool the request offers (web search, web fetch), None without any."""
    kinds = [str(t.get("type", "")) for t in body.get("tools") or () if isinstance(t, dict)]
    search = sum(1 for kind in kinds if kind.startswith("web_search_"))
    fetch = sum(1 for kind in kinds if kind.startswith("web_fetch_"))
    return {"web_search_requests": search, "web_fetch_requests": fetch} if search or fetch else None


def _compacts(body: dict[str, Any]) -> bool:
    management = body.get("context_management")
    edits = management.get("edits") if isinstance(management, dict) else None
    return any(isinstance(e, dict) and str(e.get("type", "")).startswith("compact_") for e in edits or ())


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
        byok=is_byok(ask),
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
    start_keys = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "cache_creation")
    start_wire = {k: wire[k] for k in start_keys} | {"output_tokens": 1, "service_tier": "standard"}
    start_usage = MockUsage(
        sum(wire[k] for k in start_keys[:3]),
        1,
        wire["cache_read_input_tokens"],
        wire["cache_creation_input_tokens"],
    )
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
    delta_usage = {k: v for k, v in wire.items() if k not in ("cache_creation", "service_tier")}
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
