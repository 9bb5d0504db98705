"""The real provider SDKs, one runner per wire family (sync and async, streamed and not), against the mock.

Shared by the mock's own tests (tests/mock/test_sdks.py) and the shim's (tests/instrument).
"""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anthropic
import cohere
import groq
import openai
import pytest
from google import genai
from google.genai import types as genai_types
from mistralai.client import Mistral

from modelmeter.mock import MockProviders, MockUsage

PROMPT = "Summarise the weekly cost report in one line."
SDKResult = tuple[str, MockUsage | None]
Runner = Callable[[MockProviders, dict[str, str], bool, bool], Awaitable[SDKResult]]


def _openai_chat_usage(usage: Any) -> MockUsage | None:
    if usage is None:
        return None
    cached = usage.prompt_tokens_details.cached_tokens if usage.prompt_tokens_details else 0
    reasoning = usage.completion_tokens_details.reasoning_tokens if usage.completion_tokens_details else 0
    return MockUsage(usage.prompt_tokens, usage.completion_tokens, cached or 0, 0, reasoning or 0)


async def _openai_compatible(client: Any, model: str, stream: bool, **extra: Any) -> SDKResult:
    messages: Any = [{"role": "user", "content": PROMPT}]
    if not stream:
        result = client.chat.completions.create(model=model, messages=messages, **extra)
        response = await result if isinstance(client, openai.AsyncOpenAI) else result
        return response.choices[0].message.content or "", _openai_chat_usage(response.usage)
    text, usage = [], None
    created = client.chat.completions.create(
        model=model, messages=messages, stream=True, stream_options={"include_usage": True}, **extra
    )
    chunks = await created if isinstance(client, openai.AsyncOpenAI) else created
    if isinstance(chunks, openai.AsyncStream):
        async for chunk in chunks:
            text += [c.delta.content or "" for c in chunk.choices]
            usage = chunk.usage or usage
    else:
        for chunk in chunks:
            text += [c.delta.content or "" for c in chunk.choices]
            usage = chunk.usage or usage
    return "".join(text), _openai_chat_usage(usage)


def _openai(mock: MockProviders, keys: dict[str, str], is_async: bool, vendor: str = "openai") -> Any:
    cls = openai.AsyncOpenAI if is_async else openai.OpenAI
    return cls(base_url=mock.base_url(vendor), api_key=keys[vendor], max_retries=0)


async def run_openai_chat(
    mock: MockProviders, keys: dict[str, str], stream: bool, is_async: bool
) -> SDKResult:
    return await _openai_compatible(_openai(mock, keys, is_async), "gpt-4o-mini", stream)


async def run_openai_reasoning_chat(
    mock: MockProviders, keys: dict[str, str], stream: bool, is_async: bool
) -> SDKResult:
    return await _openai_compatible(_openai(mock, keys, is_async), "o4-mini", stream)


async def run_openai_responses(
    mock: MockProviders, keys: dict[str, str], stream: bool, is_async: bool
) -> SDKResult:
    client = _openai(mock, keys, is_async)

    def usage_of(usage: Any) -> MockUsage:
        return MockUsage(
            usage.input_tokens,
            usage.output_tokens,
            usage.input_tokens_details.cached_tokens,
            0,
            usage.output_tokens_details.reasoning_tokens,
        )

    call = client.responses.create(model="gpt-5-mini", input=PROMPT, instructions="Be brief.", stream=stream)
    result = await call if is_async else call
    if not stream:
        return result.output_text, usage_of(result.usage)
    events = [e async for e in result] if is_async else list(result)
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    completed = [e for e in events if e.type == "response.completed"]
    return text, usage_of(completed[-1].response.usage)


async def run_openai_embeddings(
    mock: MockProviders, keys: dict[str, str], stream: bool, is_async: bool
) -> SDKResult:
    client = _openai(mock, keys, is_async)
    call = client.embeddings.create(model="text-embedding-3-small", input=[PROMPT, "second input"])
    result = await call if is_async else call
    assert len(result.data) == 2 and all(len(d.embedding) == 16 for d in result.data)
    return "", MockUsage(result.usage.prompt_tokens, 0)


async def run_openai_images(
    mock: MockProviders, keys: dict[str, str], stream: bool, is_async: bool
) -> SDKResult:
    client = _openai(mock, keys, is_async)
    call = client.images.generate(model="gpt-image-1", prompt="a lighthouse at dusk", quality="low", n=2)
    result = await call if is_async else call
    assert result.data and all(d.b64_json for d in result.data)
    return "", MockUsage(result.usage.input_tokens, result.usage.output_tokens)


def _anthropic_usage(usage: Any) -> MockUsage:
    read, write = usage.cache_read_input_tokens or 0, usage.cache_creation_input_tokens or 0
    return MockUsage(usage.input_tokens + read + write, usage.output_tokens, read, write, 0)


async def _anthropic_messages(client: Any, model: str, stream: bool, is_async: bool) -> SDKResult:
    kwargs: Any = {
        "model": model,
        "max_tokens": 256,
        "system": [{"type": "text", "text": "You are terse. " * 40, "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": PROMPT}],
    }
    if not stream:
        call = client.messages.create(**kwargs)
        message = await call if is_async else call
    elif is_async:
        async with client.messages.stream(**kwargs) as events:
            message = await events.get_final_message()
    else:
        with client.messages.stream(**kwargs) as events:
            message = events.get_final_message()
    return "".join(block.text for block in message.content), _anthropic_usage(message.usage)


async def run_anthropic(mock: MockProviders, keys: dict[str, str], stream: bool, is_async: bool) -> SDKResult:
    cls = anthropic.AsyncAnthropic if is_async else anthropic.Anthropic
    client = cls(base_url=mock.base_url("anthropic"), api_key=keys["anthropic"], max_retries=0)
    return await _anthropic_messages(client, "claude-haiku-4-5", stream, is_async)


async def run_gemini(mock: MockProviders, keys: dict[str, str], stream: bool, is_async: bool) -> SDKResult:
    # the async runs go through aiohttp, which google-genai uses directly whenever it is installed
    options = genai_types.HttpOptions(base_url=mock.base_url("gemini"))
    client = genai.Client(api_key=keys["gemini"], http_options=options)
    models: Any = client.aio.models if is_async else client.models
    if not stream:
        call = models.generate_content(model="gemini-2.5-flash", contents=PROMPT)
        responses = [await call if is_async else call]
    elif is_async:
        responses = [
            r async for r in await models.generate_content_stream(model="gemini-2.5-flash", contents=PROMPT)
        ]
    else:
        responses = list(models.generate_content_stream(model="gemini-2.5-flash", contents=PROMPT))
    meta = responses[-1].usage_metadata
    thoughts = meta.thoughts_token_count or 0
    usage = MockUsage(
        meta.prompt_token_count,
        meta.candidates_token_count + thoughts,
        meta.cached_content_token_count or 0,
        0,
        thoughts,
    )
    return "".join(r.text or "" for r in responses), usage


async def run_mistral(mock: MockProviders, keys: dict[str, str], stream: bool, is_async: bool) -> SDKResult:
    client: Any = Mistral(api_key=keys["mistral"], server_url=mock.base_url("mistral"))
    messages: Any = [{"role": "user", "content": PROMPT}]
    if not stream:
        call = client.chat.complete_async if is_async else client.chat.complete
        result = call(model="mistral-small-latest", messages=messages)
        response = await result if is_async else result
        usage = response.usage
        return str(response.choices[0].message.content), MockUsage(
            usage.prompt_tokens, usage.completion_tokens
        )
    if is_async:
        events = [
            e async for e in await client.chat.stream_async(model="mistral-small-latest", messages=messages)
        ]
    else:
        events = list(client.chat.stream(model="mistral-small-latest", messages=messages))
    text = "".join(str(e.data.choices[0].delta.content or "") for e in events if e.data.choices)
    usage = events[-1].data.usage
    return text, MockUsage(usage.prompt_tokens, usage.completion_tokens)


async def run_groq(mock: MockProviders, keys: dict[str, str], stream: bool, is_async: bool) -> SDKResult:
    cls = groq.AsyncGroq if is_async else groq.Groq
    client: Any = cls(base_url=mock.base_url("groq"), api_key=keys["groq"], max_retries=0)
    messages: Any = [{"role": "user", "content": PROMPT}]
    if not stream:
        call = client.chat.completions.create(model="llama-3.3-70b-versatile", messages=messages)
        response = await call if is_async else call
        usage = response.usage
        return response.choices[0].message.content, MockUsage(usage.prompt_tokens, usage.completion_tokens)
    call = client.chat.completions.create(model="llama-3.3-70b-versatile", messages=messages, stream=True)
    chunks = [c async for c in await call] if is_async else list(call)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    usage = chunks[-1].x_groq.usage
    return text, MockUsage(usage.prompt_tokens, usage.completion_tokens)


async def run_cohere(mock: MockProviders, keys: dict[str, str], stream: bool, is_async: bool) -> SDKResult:
    cls = cohere.AsyncClientV2 if is_async else cohere.ClientV2
    client: Any = cls(api_key=keys["cohere"], base_url=mock.base_url("cohere"))
    messages: Any = [{"role": "user", "content": PROMPT}]
    if not stream:
        call = client.chat(model="command-a-03-2025", messages=messages)
        response = await call if is_async else call
        billed = response.usage.billed_units
        return response.message.content[0].text, MockUsage(
            int(billed.input_tokens), int(billed.output_tokens)
        )
    call = client.chat_stream(model="command-a-03-2025", messages=messages)
    events = [e async for e in call] if is_async else list(call)
    text = "".join(e.delta.message.content.text for e in events if e.type == "content-delta")
    billed = events[-1].delta.usage.billed_units
    return text, MockUsage(int(billed.input_tokens), int(billed.output_tokens))


async def run_vercel_chat(
    mock: MockProviders, keys: dict[str, str], stream: bool, is_async: bool
) -> SDKResult:
    return await _openai_compatible(_openai(mock, keys, is_async, "vercel"), "openai/gpt-4o-mini", stream)


async def run_vercel_messages(
    mock: MockProviders, keys: dict[str, str], stream: bool, is_async: bool
) -> SDKResult:
    cls = anthropic.AsyncAnthropic if is_async else anthropic.Anthropic
    client = cls(base_url=mock.origin("vercel"), api_key=keys["vercel"], max_retries=0)
    return await _anthropic_messages(client, "anthropic/claude-sonnet-4.5", stream, is_async)


async def run_openrouter(
    mock: MockProviders, keys: dict[str, str], stream: bool, is_async: bool
) -> SDKResult:
    return await _openai_compatible(
        _openai(mock, keys, is_async, "openrouter"), "anthropic/claude-sonnet-4.5", stream
    )


@dataclass(frozen=True)
class Case:
    vendor: str
    operation: str
    run: Runner
    streams: bool = True


CASES = {
    "openai-chat": Case("openai", "chat", run_openai_chat),
    "openai-chat-reasoning": Case("openai", "chat", run_openai_reasoning_chat),
    "openai-responses": Case("openai", "responses", run_openai_responses),
    "openai-embeddings": Case("openai", "embeddings", run_openai_embeddings, streams=False),
    "openai-images": Case("openai", "images", run_openai_images, streams=False),
    "anthropic-messages": Case("anthropic", "chat", run_anthropic),
    "gemini-generate-content": Case("gemini", "generate_content", run_gemini),
    "mistral-chat": Case("mistral", "chat", run_mistral),
    "groq-chat": Case("groq", "chat", run_groq),
    "cohere-chat": Case("cohere", "chat", run_cohere),
    "vercel-chat": Case("vercel", "chat", run_vercel_chat),
    "vercel-messages": Case("vercel", "chat", run_vercel_messages),
    "openrouter-chat": Case("openrouter", "chat", run_openrouter),
}
PARAMS = [
    pytest.param(
        name,
        stream,
        is_async,
        id=f"{name}-{'stream' if stream else 'json'}-{'async' if is_async else 'sync'}",
    )
    for name, case in CASES.items()
    for stream in ((False, True) if case.streams else (False,))
    for is_async in (False, True)
]


def abandon_a_stream(mock: MockProviders) -> None:
    """Start an anthropic stream, read its first event and drop it; the collector ends it."""
    client = anthropic.Anthropic(
        base_url=mock.base_url("anthropic"), api_key="sk-ant-api03-FAKE0000", max_retries=0
    )
    stream = client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=64,
        messages=[{"role": "user", "content": PROMPT}],
        stream=True,
        extra_headers={"x-mock-chunks": "20"},
    )
    events = iter(stream)
    assert next(events).type == "message_start"
    del stream, events
    gc.collect()
