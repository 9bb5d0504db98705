"""The mock's usage is a deterministic function of the request, with cache and reasoning parts where due."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anthropic
import httpx
import openai
from google import genai
from google.genai import types as genai_types

from modelmeter.mock import MockProviders

LONG_PROMPT = "Quarterly spend by workflow, team and model. " * 120  # well past 1024 tokens


def _chat(mock: MockProviders, keys: dict[str, str], model: str, content: str) -> Any:
    client = openai.OpenAI(base_url=mock.base_url("openai"), api_key=keys["openai"], max_retries=0)
    return client.chat.completions.create(model=model, messages=[{"role": "user", "content": content}])


def test_same_request_same_answer_and_usage(mock: MockProviders, fake_keys: dict[str, str]) -> None:
    first = _chat(mock, fake_keys, "gpt-4o-mini", "hello")
    again = _chat(mock, fake_keys, "gpt-4o-mini", "hello")
    _chat(mock, fake_keys, "gpt-4o-mini", "hello " * 50)
    assert first.choices[0].message.content == again.choices[0].message.content
    assert mock.calls[0].usage == mock.calls[1].usage
    assert mock.calls[2].usage is not None and mock.calls[0].usage is not None
    assert mock.calls[2].usage.input_tokens > mock.calls[0].usage.input_tokens
    assert first.id != again.id


def test_long_openai_prompt_reports_cached_tokens_inside_prompt_tokens(
    mock: MockProviders, fake_keys: dict[str, str]
) -> None:
    response = _chat(mock, fake_keys, "gpt-4o-mini", LONG_PROMPT)
    usage = mock.calls[-1].usage
    assert usage is not None and 0 < usage.cache_read_tokens < usage.input_tokens
    assert response.usage is not None and response.usage.prompt_tokens == usage.input_tokens


def test_reasoning_model_counts_reasoning_inside_output(
    mock: MockProviders, fake_keys: dict[str, str]
) -> None:
    response = _chat(mock, fake_keys, "o4-mini", "think")
    usage = mock.calls[-1].usage
    assert usage is not None and usage.reasoning_tokens > 0
    assert (
        response.usage is not None
        and response.usage.completion_tokens == usage.output_tokens > usage.reasoning_tokens
    )


def test_anthropic_cache_control_writes_first_then_reads(
    mock: MockProviders, fake_keys: dict[str, str]
) -> None:
    client = anthropic.Anthropic(
        base_url=mock.base_url("anthropic"), api_key=fake_keys["anthropic"], max_retries=0
    )
    system: Any = [{"type": "text", "text": LONG_PROMPT, "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
    first = client.messages.create(
        model="claude-sonnet-4-6", max_tokens=64, system=system, messages=[{"role": "user", "content": "a"}]
    )
    second = client.messages.create(
        model="claude-sonnet-4-6", max_tokens=64, system=system, messages=[{"role": "user", "content": "b"}]
    )
    assert first.usage.cache_creation_input_tokens and not first.usage.cache_read_input_tokens
    assert (
        first.usage.cache_creation
        and first.usage.cache_creation.ephemeral_1h_input_tokens == first.usage.cache_creation_input_tokens
    )
    assert second.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens
    written, read = mock.calls[0].usage, mock.calls[1].usage
    assert written is not None and read is not None
    assert written.cache_write_tokens == read.cache_read_tokens > 0
    # normalised input includes the cached part; the wire's input_tokens does not
    assert written.input_tokens == first.usage.input_tokens + written.cache_write_tokens


def test_gemini_thinking_and_cached_content_counts(mock: MockProviders, fake_keys: dict[str, str]) -> None:
    client = genai.Client(
        api_key=fake_keys["gemini"], http_options=genai_types.HttpOptions(base_url=mock.base_url("gemini"))
    )
    response = client.models.generate_content(model="gemini-2.5-pro", contents=LONG_PROMPT)
    meta = response.usage_metadata
    usage = mock.calls[-1].usage
    assert meta is not None and usage is not None
    assert meta.thoughts_token_count == usage.reasoning_tokens > 0
    assert meta.cached_content_token_count == usage.cache_read_tokens > 0
    assert usage.output_tokens == (meta.candidates_token_count or 0) + usage.reasoning_tokens
    no_thinking = genai_types.GenerateContentConfig(
        thinking_config=genai_types.ThinkingConfig(thinking_budget=0)
    )
    client.models.generate_content(model="gemini-2.5-flash", contents="hi", config=no_thinking)
    assert mock.calls[-1].usage is not None and mock.calls[-1].usage.reasoning_tokens == 0


def test_stream_without_include_usage_records_no_usage(
    mock: MockProviders, fake_keys: dict[str, str]
) -> None:
    client = openai.OpenAI(base_url=mock.base_url("openai"), api_key=fake_keys["openai"], max_retries=0)
    chunks = list(
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}], stream=True
        )
    )
    assert all(c.usage is None for c in chunks)
    assert mock.calls[-1].usage is None and mock.calls[-1].wire_usage is None
    assert mock.calls[-1].finish_reason == "stop"


def test_concurrent_clients_are_all_served_and_recorded(mock: MockProviders) -> None:
    client = httpx.Client(limits=httpx.Limits(max_connections=16))

    def call(index: int) -> int:
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": str(index)}]}
        knobs = {"x-mock-chunks": str(1 + index % 4), "x-mock-latency-ms": "5"}
        return client.post(
            mock.base_url("openai") + "/chat/completions", json=body, headers=knobs
        ).status_code

    with client, ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(call, range(64)))
    assert statuses == [200] * 64
    assert len(mock.calls) == 64 and len({c.request_id for c in mock.calls}) == 64
