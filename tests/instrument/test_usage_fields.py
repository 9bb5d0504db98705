"""Every usage field of every family, built with the vendor SDK's own types and read by our readers.

Each response is made from the SDK's model classes and serialised the way the SDK receives it
(`model_dump(mode="json", by_alias=True)`), then read by the wire family (a JSON body, and the
stream's events one by one). The inventory test lists every field of each SDK usage class with
where it goes or why it does not (docs/spec-notes.md says the same): a field an SDK renames or adds
fails it until someone decides what it means for cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cohere
import orjson
import pytest
from anthropic.types import (
    Message,
    MessageDeltaUsage,
    RawMessageDeltaEvent,
    RawMessageStartEvent,
    ServerToolUsage,
    Usage,
)
from anthropic.types import OutputTokensDetails as AnthropicOutputDetails
from anthropic.types.beta import (
    BetaCompactionIterationUsage,
    BetaMessage,
    BetaMessageDeltaUsage,
    BetaMessageIterationUsage,
    BetaRawMessageDeltaEvent,
    BetaServerToolUsage,
    BetaUsage,
)
from google.genai import types as gt
from groq.types import CompletionUsage as GroqUsage
from groq.types.chat import ChatCompletionChunk as GroqChunk
from mistralai.client.models import ChatCompletionResponse as MistralResponse
from mistralai.client.models import UsageInfo as MistralUsage
from openai.types import CompletionUsage, CreateEmbeddingResponse
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.completion_usage import CompletionTokensDetails, PromptTokensDetails
from openai.types.create_embedding_response import Usage as EmbeddingUsage
from openai.types.responses import Response, ResponseUsage
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

from modelmeter import semconv as sc
from modelmeter.instrument.providers import (
    Facts,
    WireFamily,
    anthropic_messages,
    cohere_v2,
    gemini,
    mistral,
    openai_chat,
    openai_embeddings,
    openai_responses,
)


def wire(model: Any) -> Any:
    """An SDK object as its JSON travels on the wire (aliases, no unset optionals)."""
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def read_body(family: WireFamily, body: Any) -> Facts:
    facts = Facts()
    family.read_json(orjson.loads(orjson.dumps(body)), facts)
    return facts


def read_stream(family: WireFamily, events: Sequence[tuple[str | None, Any]]) -> Facts:
    facts = Facts()
    for name, payload in events:
        family.read_event(name, orjson.dumps(payload), facts)
    family.finish_stream(facts)
    return facts


def usage_of(facts: Facts) -> tuple[int | None, ...]:
    return (
        facts.input_tokens,
        facts.output_tokens,
        facts.cache_read_tokens,
        facts.cache_write_tokens,
        facts.reasoning_tokens,
    )


# --- the inventory: every field of every SDK usage type, mapped or explained -----------------

MAPPED, TOTAL, BREAKDOWN, NOT_COST, SEE_NOTES = "mapped", "total", "breakdown", "not cost", "see notes"

# Anthropic's usage classes share most fields: a message, its stream delta, one sampling step
ANTHROPIC_DELTA = {
    "input_tokens": MAPPED,
    "output_tokens": MAPPED,
    "cache_read_input_tokens": MAPPED,
    "cache_creation_input_tokens": MAPPED,
    "output_tokens_details": MAPPED,
    "server_tool_use": MAPPED,
}
ANTHROPIC_USAGE = ANTHROPIC_DELTA | {
    "cache_creation": SEE_NOTES,
    "service_tier": MAPPED,
    "inference_geo": SEE_NOTES,
    "speed": SEE_NOTES,
}
ANTHROPIC_BETA_ONLY = {"iterations": MAPPED, "fallback_credit": SEE_NOTES}
ANTHROPIC_STEP = {
    "type": MAPPED,
    "input_tokens": MAPPED,
    "output_tokens": MAPPED,
    "cache_read_input_tokens": MAPPED,
    "cache_creation_input_tokens": MAPPED,
    "cache_creation": SEE_NOTES,
}

INVENTORY: list[tuple[type, dict[str, str]]] = [
    (
        CompletionUsage,
        {
            "prompt_tokens": MAPPED,
            "completion_tokens": MAPPED,
            "total_tokens": TOTAL,
            "prompt_tokens_details": MAPPED,
            "completion_tokens_details": MAPPED,
        },
    ),
    (
        PromptTokensDetails,
        {
            "cached_tokens": MAPPED,
            "cache_write_tokens": MAPPED,
            "audio_tokens": BREAKDOWN,
            "image_tokens": BREAKDOWN,
            "text_tokens": BREAKDOWN,
        },
    ),
    (
        CompletionTokensDetails,
        {
            "reasoning_tokens": MAPPED,
            "accepted_prediction_tokens": BREAKDOWN,
            "rejected_prediction_tokens": BREAKDOWN,
            "audio_tokens": BREAKDOWN,
            "text_tokens": BREAKDOWN,
        },
    ),
    (
        ResponseUsage,
        {
            "input_tokens": MAPPED,
            "input_tokens_details": MAPPED,
            "output_tokens": MAPPED,
            "output_tokens_details": MAPPED,
            "total_tokens": TOTAL,
        },
    ),
    (
        InputTokensDetails,
        {"cached_tokens": MAPPED, "cache_write_tokens": MAPPED, "cache_write_tokens_details": SEE_NOTES},
    ),
    (OutputTokensDetails, {"reasoning_tokens": MAPPED}),
    (EmbeddingUsage, {"prompt_tokens": MAPPED, "total_tokens": TOTAL}),
    (Usage, ANTHROPIC_USAGE),
    (BetaUsage, ANTHROPIC_USAGE | ANTHROPIC_BETA_ONLY),
    (MessageDeltaUsage, ANTHROPIC_DELTA),
    (BetaMessageDeltaUsage, ANTHROPIC_DELTA | ANTHROPIC_BETA_ONLY),
    (BetaCompactionIterationUsage, ANTHROPIC_STEP),
    (BetaMessageIterationUsage, ANTHROPIC_STEP | {"model": MAPPED}),
    (AnthropicOutputDetails, {"thinking_tokens": MAPPED}),
    (ServerToolUsage, {"web_search_requests": MAPPED, "web_fetch_requests": MAPPED}),
    (
        gt.GenerateContentResponseUsageMetadata,
        {
            "prompt_token_count": MAPPED,
            "candidates_token_count": MAPPED,
            "thoughts_token_count": MAPPED,
            "cached_content_token_count": MAPPED,
            "tool_use_prompt_token_count": MAPPED,
            "total_token_count": TOTAL,
            "prompt_tokens_details": BREAKDOWN,
            "candidates_tokens_details": BREAKDOWN,
            "cache_tokens_details": BREAKDOWN,
            "tool_use_prompt_tokens_details": BREAKDOWN,
            "traffic_type": SEE_NOTES,
        },
    ),
    (
        MistralUsage,
        {
            "prompt_tokens": MAPPED,
            "completion_tokens": MAPPED,
            "total_tokens": TOTAL,
            "prompt_audio_seconds": SEE_NOTES,
            "service_tier": MAPPED,
        },
    ),
    (
        GroqUsage,
        {
            "prompt_tokens": MAPPED,
            "completion_tokens": MAPPED,
            "total_tokens": TOTAL,
            "prompt_tokens_details": MAPPED,
            "completion_tokens_details": MAPPED,
            "queue_time": NOT_COST,
            "prompt_time": NOT_COST,
            "completion_time": NOT_COST,
            "total_time": NOT_COST,
        },
    ),
    (cohere.Usage, {"billed_units": MAPPED, "tokens": MAPPED, "cached_tokens": SEE_NOTES}),
    (
        cohere.UsageBilledUnits,
        {
            "input_tokens": MAPPED,
            "output_tokens": MAPPED,
            "search_units": SEE_NOTES,
            "classifications": SEE_NOTES,
        },
    ),
    (cohere.UsageTokens, {"input_tokens": MAPPED, "output_tokens": MAPPED}),
]


@pytest.mark.parametrize(("cls", "decided"), INVENTORY, ids=lambda v: getattr(v, "__qualname__", ""))
def test_every_usage_field_of_the_sdk_types_is_mapped_or_explained(
    cls: type, decided: dict[str, str]
) -> None:
    fields = getattr(cls, "model_fields", None) or cls.__fields__  # type: ignore[attr-defined]
    assert set(fields) == set(decided), f"{cls.__module__}.{cls.__qualname__}: decide and note the change"


# --- OpenAI chat (and the vendors that speak it) ------------------------------------------------

CHAT_USAGE = CompletionUsage(
    prompt_tokens=1200,
    completion_tokens=340,
    total_tokens=1540,
    prompt_tokens_details=PromptTokensDetails(cached_tokens=800, cache_write_tokens=150, audio_tokens=0),
    completion_tokens_details=CompletionTokensDetails(
        reasoning_tokens=200, accepted_prediction_tokens=0, rejected_prediction_tokens=0, audio_tokens=0
    ),
)


def test_openai_chat_json_and_stream() -> None:
    completion = ChatCompletion.model_validate(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1,
            "model": "gpt-5-mini-2025-08-07",
            "choices": [
                {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hi"}}
            ],
        }
    )
    completion.usage = CHAT_USAGE
    expected = (1200, 340, 800, 150, 200)
    assert usage_of(read_body(openai_chat.FAMILY, wire(completion))) == expected
    head = ChatCompletionChunk.model_validate(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "gpt-5-mini-2025-08-07",
            "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": "stop"}],
        }
    )
    tail = head.model_copy(update={"choices": [], "usage": CHAT_USAGE})
    assert usage_of(read_stream(openai_chat.FAMILY, [(None, wire(head)), (None, wire(tail))])) == expected


def test_groq_usage_in_x_groq_and_its_details() -> None:
    usage = GroqUsage.model_validate(
        {
            "prompt_tokens": 90,
            "completion_tokens": 30,
            "total_tokens": 120,
            "queue_time": 0.01,
            "prompt_details": None,
            "prompt_tokens_details": {"cached_tokens": 40},
            "completion_tokens_details": {"reasoning_tokens": 12},
        }
    )
    chunk = GroqChunk.model_validate(
        {
            "id": "chatcmpl-g",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "openai/gpt-oss-120b",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            "x_groq": {"id": "req_1"},
        }
    )
    assert chunk.x_groq is not None
    chunk.x_groq.usage = usage
    assert usage_of(read_stream(openai_chat.FAMILY, [(None, wire(chunk))])) == (90, 30, 40, 0, 12)


def test_mistral_usage_and_its_service_tier() -> None:
    response = MistralResponse.model_validate(
        {
            "id": "cmpl-1",
            "object": "chat.completion",
            "model": "mistral-small-latest",
            "created": 1,
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            "choices": [
                {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hi"}}
            ],
        }
    )
    response.usage = MistralUsage(
        prompt_tokens=55, completion_tokens=21, total_tokens=76, service_tier="priority"
    )
    facts = read_body(openai_chat.FAMILY, wire(response))
    assert usage_of(facts) == (55, 21, 0, 0, 0) and facts.service_tier == "priority"
    assert mistral.FAMILY.matches("/v1/fim/completions")


# --- OpenAI Responses and embeddings -------------------------------------------------------------


def responses_body(usage: ResponseUsage) -> dict[str, Any]:
    response = Response.model_validate(
        {
            "id": "resp_1",
            "object": "response",
            "created_at": 1,
            "model": "gpt-5-2025-08-07",
            "status": "completed",
            "output": [],
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
        }
    )
    response.usage = usage
    return wire(response)


def test_openai_responses_json_and_completed_event_with_cache_writes() -> None:
    usage = ResponseUsage(
        input_tokens=5000,
        input_tokens_details=InputTokensDetails(cached_tokens=3000, cache_write_tokens=1000),
        output_tokens=700,
        output_tokens_details=OutputTokensDetails(reasoning_tokens=512),
        total_tokens=5700,
    )
    body = responses_body(usage)
    expected = (5000, 700, 3000, 1000, 512)
    assert usage_of(read_body(openai_responses.FAMILY, body)) == expected
    events = [("response.completed", {"type": "response.completed", "sequence_number": 9, "response": body})]
    facts = read_stream(openai_responses.FAMILY, events)
    assert usage_of(facts) == expected and facts.terminal


def test_openai_embeddings_usage() -> None:
    body = CreateEmbeddingResponse.model_validate(
        {
            "object": "list",
            "model": "text-embedding-3-small",
            "data": [],
            "usage": {"prompt_tokens": 1, "total_tokens": 1},
        }
    )
    body.usage = EmbeddingUsage(prompt_tokens=64, total_tokens=64)
    assert usage_of(read_body(openai_embeddings.EMBEDDINGS, wire(body))) == (64, 0, 0, 0, 0)


# --- Anthropic ------------------------------------------------------------------------------------

MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5-20250929",
    "content": [{"type": "text", "text": "hi"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 1, "output_tokens": 1},
}


def message_delta(event_class: Any, usage: Any) -> Any:
    """A `message_delta` event of the SDK's own class carrying `usage` (a stop reason of end_turn)."""
    event = event_class.model_validate(
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 1}}
    )
    event.usage = usage
    return event


def test_anthropic_thinking_and_server_tools_json_and_stream() -> None:
    usage = Usage(
        input_tokens=300,
        cache_read_input_tokens=2000,
        cache_creation_input_tokens=500,
        output_tokens=900,
        output_tokens_details=AnthropicOutputDetails(thinking_tokens=640),
        server_tool_use=ServerToolUsage(web_search_requests=3, web_fetch_requests=1),
    )
    message = Message.model_validate(MESSAGE)
    message.usage = usage
    expected = (2800, 900, 2000, 500, 640)
    facts = read_body(anthropic_messages.FAMILY, wire(message))
    assert usage_of(facts) == expected
    assert facts.extras is not None
    assert facts.extras[sc.MM_SERVER_TOOL_PREFIX + "web_search_requests"] == 3
    assert facts.fees == {"web_searches": 3, "web_fetch_requests": 1}

    start = message.model_copy(update={"usage": Usage(input_tokens=300, output_tokens=1), "content": []})
    start_event = RawMessageStartEvent(type="message_start", message=start)
    delta = message_delta(
        RawMessageDeltaEvent,
        MessageDeltaUsage(
            input_tokens=300,
            cache_read_input_tokens=2000,
            cache_creation_input_tokens=500,
            output_tokens=900,
            output_tokens_details=AnthropicOutputDetails(thinking_tokens=640),
            server_tool_use=ServerToolUsage(web_search_requests=3, web_fetch_requests=1),
        ),
    )
    events = [("message_start", wire(start_event)), ("message_delta", wire(delta)), ("message_stop", {})]
    streamed = read_stream(anthropic_messages.FAMILY, events)
    assert usage_of(streamed) == expected and streamed.fees == facts.fees


COMPACTION = BetaCompactionIterationUsage(
    type="compaction",
    input_tokens=180_000,
    output_tokens=3_000,
    cache_read_input_tokens=0,
    cache_creation_input_tokens=0,
)
FINAL_STEP = BetaMessageIterationUsage(
    type="message",
    input_tokens=4_000,
    output_tokens=600,
    cache_read_input_tokens=1_000,
    cache_creation_input_tokens=0,
)


def test_anthropic_compaction_is_summed_over_its_steps_json_and_stream() -> None:
    usage = BetaUsage(
        input_tokens=4_000,
        cache_read_input_tokens=1_000,
        cache_creation_input_tokens=0,
        output_tokens=600,
        iterations=[COMPACTION, FINAL_STEP],
    )
    message = BetaMessage.model_validate(MESSAGE | {"stop_reason": "end_turn"})
    message.usage = usage
    # the top level alone (5,000 in, 600 out) would miss the compaction's 180,000 + 3,000
    expected = (185_000, 3_600, 1_000, 0, 0)
    facts = read_body(anthropic_messages.FAMILY, wire(message))
    assert usage_of(facts) == expected
    assert facts.compaction == (180_000, 0, 0, 3_000)
    assert facts.extras is not None
    steps = orjson.loads(facts.extras[sc.MM_USAGE_STEPS])
    assert [(s["type"], s["input_tokens"], s["output_tokens"]) for s in steps] == [
        ("compaction", 180_000, 3_000),
        ("message", 5_000, 600),
    ]
    assert facts.extras[sc.MM_COMPACTION_INPUT_TOKENS] == 180_000

    # streamed: message_start holds the final step's input; message_delta the steps
    start = {
        "type": "message_start",
        "message": MESSAGE | {"usage": {"input_tokens": 4_000, "output_tokens": 1}},
    }
    delta = message_delta(
        BetaRawMessageDeltaEvent,
        BetaMessageDeltaUsage(
            input_tokens=4_000,
            cache_read_input_tokens=1_000,
            output_tokens=600,
            iterations=[COMPACTION, FINAL_STEP],
            server_tool_use=BetaServerToolUsage(web_search_requests=0, web_fetch_requests=0),
        ),
    )
    events = [("message_start", start), ("message_delta", wire(delta)), ("message_stop", {})]
    assert usage_of(read_stream(anthropic_messages.FAMILY, events)) == expected


# --- Gemini -----------------------------------------------------------------------------------------


def gemini_response(usage: gt.GenerateContentResponseUsageMetadata, finish: bool = True) -> dict[str, Any]:
    response = gt.GenerateContentResponse(
        candidates=[
            gt.Candidate(
                content=gt.Content(role="model", parts=[gt.Part(text="hi")]),
                finish_reason=gt.FinishReason.STOP if finish else None,
            )
        ],
        usage_metadata=usage,
        model_version="gemini-2.5-flash",
        response_id="r-1",
    )
    return wire(response)


def test_gemini_tool_use_prompt_is_input_json_and_stream() -> None:
    usage = gt.GenerateContentResponseUsageMetadata(
        prompt_token_count=1_000,
        cached_content_token_count=400,
        candidates_token_count=150,
        thoughts_token_count=90,
        tool_use_prompt_token_count=2_500,
        total_token_count=3_740,
    )
    expected = (3_500, 240, 400, 0, 90)
    facts = read_body(gemini.FAMILY, gemini_response(usage))
    assert usage_of(facts) == expected
    assert facts.extras == {sc.MM_TOOL_USE_PROMPT_TOKENS: 2_500}
    running = gt.GenerateContentResponseUsageMetadata(prompt_token_count=1_000, total_token_count=1_000)
    events = [(None, gemini_response(running, finish=False)), (None, gemini_response(usage))]
    assert usage_of(read_stream(gemini.FAMILY, events)) == expected


# --- Cohere -----------------------------------------------------------------------------------------


def test_cohere_billed_units_json_and_message_end() -> None:
    usage = cohere.Usage(
        billed_units=cohere.UsageBilledUnits(input_tokens=70, output_tokens=25),
        tokens=cohere.UsageTokens(input_tokens=270, output_tokens=26),
    )
    response = cohere.V2ChatResponse.model_validate(
        {"id": "c-1", "finish_reason": "COMPLETE", "message": {"role": "assistant", "content": []}}
    )
    response.usage = usage
    assert usage_of(read_body(cohere_v2.FAMILY, wire(response))) == (70, 25, 0, 0, 0)
    end = cohere.ChatMessageEndEvent.model_validate(
        {"type": "message-end", "id": "c-1", "delta": {"finish_reason": "COMPLETE"}}
    )
    assert end.delta is not None
    end.delta.usage = usage
    assert usage_of(read_stream(cohere_v2.FAMILY, [("message-end", wire(end))])) == (70, 25, 0, 0, 0)


def test_inventory_decisions_are_from_the_documented_vocabulary() -> None:
    words = {MAPPED, TOTAL, BREAKDOWN, NOT_COST, SEE_NOTES}
    assert {word for _, decided in INVENTORY for word in decided.values()} <= words
