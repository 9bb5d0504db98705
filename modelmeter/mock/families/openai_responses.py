"""OpenAI Responses API (`POST /v1/responses`): named SSE events, usage only in the terminal event.

Through the Vercel AI Gateway the final response carries `provider_metadata.gateway` (routing, cost,
generation id), in the JSON body and in `response.completed`.
"""

from __future__ import annotations

import time
from typing import Any

from modelmeter.mock.answer import Answer, Ask, Frame, sse
from modelmeter.mock.calls import MockUsage
from modelmeter.mock.families.openai_chat import openai_snapshot
from modelmeter.mock.gateways import is_byok, reported_cost, vercel_gateway_metadata
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


def responses_usage(ask: Ask, visible_output: int) -> tuple[MockUsage, dict[str, Any]]:
    prompt = input_tokens(prompt_text([ask.body.get("instructions"), ask.body.get("input")]))
    reasoning = reasoning_tokens(ask.model, visible_output)
    cached = implicit_cached_tokens(prompt)
    usage = MockUsage(
        prompt, visible_output + reasoning, cache_read_tokens=cached, reasoning_tokens=reasoning
    )
    wire = {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": prompt + usage.output_tokens,
    }
    return usage, wire


def build_response(ask: Ask) -> Answer:
    pieces, truncated = fit_to_limit(
        answer_pieces(ask.model + prompt_text(ask.body.get("input")), ask.chunks),
        ask.body.get("max_output_tokens"),
    )
    content = "".join(pieces)
    status = "incomplete" if truncated else "completed"
    usage, wire = responses_usage(ask, count_tokens(content))
    response_id = ask.make_id("resp_mock")
    message_id = ask.make_id("msg_mock")
    model = openai_snapshot(ask.model)
    reasoning_items = (
        [{"id": ask.make_id("rs_mock"), "type": "reasoning", "summary": []}] if usage.reasoning_tokens else []
    )
    text_part = {"type": "output_text", "text": content, "annotations": [], "logprobs": []}
    message = {
        "id": message_id,
        "type": "message",
        "status": "completed",
        "role": "assistant",
        "content": [text_part],
    }
    skeleton: dict[str, Any] = {
        "id": response_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": "in_progress",
        "model": model,
        "output": [],
        "instructions": ask.body.get("instructions"),
        "incomplete_details": None,
        "error": None,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "temperature": 1.0,
        "top_p": 1.0,
        "text": {"format": {"type": "text"}},
        "truncation": "disabled",
        "metadata": {},
        "usage": None,
    }
    final = skeleton | {
        "status": status,
        "output": [*reasoning_items, message],
        "incomplete_details": {"reason": "max_output_tokens"} if truncated else None,
        "usage": wire,
    }
    answer = Answer(
        operation="responses",
        response_model=model,
        provider=model_vendor(ask.model),
        response_id=response_id,
        finish_reason=status,
        content=content,
        served_by=ask.routing.served_by if ask.routing else None,
        byok=is_byok(ask),
    )
    cost = None
    if ask.routing is not None:
        final["provider_metadata"] = {"gateway": vercel_gateway_metadata(ask, usage)}
        cost = reported_cost(ask, usage)
    if not ask.streaming:
        answer.body = final
        answer.usage, answer.wire_usage, answer.reported_cost_usd = usage, wire, cost
        return answer
    events: list[tuple[str, dict[str, Any], str]] = [
        ("response.created", {"response": skeleton}, ""),
        ("response.in_progress", {"response": skeleton}, ""),
    ]
    index = len(reasoning_items)
    events += [
        ("response.output_item.added", {"output_index": i, "item": item}, "")
        for i, item in enumerate(reasoning_items)
    ]
    events += [
        ("response.output_item.done", {"output_index": i, "item": item}, "")
        for i, item in enumerate(reasoning_items)
    ]
    where = {"item_id": message_id, "output_index": index, "content_index": 0}
    events += [
        (
            "response.output_item.added",
            {"output_index": index, "item": message | {"status": "in_progress", "content": []}},
            "",
        ),
        ("response.content_part.added", where | {"part": text_part | {"text": ""}}, ""),
    ]
    events += [
        ("response.output_text.delta", where | {"delta": piece, "logprobs": []}, piece) for piece in pieces
    ]
    events += [
        ("response.output_text.done", where | {"text": content, "logprobs": []}, ""),
        ("response.content_part.done", where | {"part": text_part}, ""),
        ("response.output_item.done", {"output_index": index, "item": message}, ""),
    ]
    frames = [
        Frame(sse({"type": name, "sequence_number": n} | data, name), output=bool(text), text=text)
        for n, (name, data, text) in enumerate(events)
    ]
    terminal = "response.completed" if status == "completed" else "response.incomplete"
    frames.append(
        Frame(
            sse({"type": terminal, "sequence_number": len(events), "response": final}, terminal),
            terminal=True,
            usage=usage,
            wire_usage=wire,
            cost=cost,
        )
    )
    answer.frames = frames
    answer.content_type = "text/event-stream"
    return answer


def stream_error_frame(_ask: Ask) -> bytes:
    payload = {
        "type": "error",
        "code": "server_error",
        "message": "The server had an error while processing your request.",
        "param": None,
    }
    return sse(payload, "error")


def error_in_200_body(_ask: Ask) -> dict[str, Any]:
    return {
        "error": {
            "message": "The server had an error while processing your request.",
            "type": "server_error",
            "param": None,
            "code": None,
        }
    }
