"""Each fault knob produces what the real API sends, and the real SDKs raise what they raise for it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anthropic
import cohere
import groq
import httpx
import httpx2
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types
from mistralai.client import Mistral
from mistralai.client.errors import SDKError as MistralError

from modelmeter.mock import Knobs, MockProviders

MESSAGES: Any = [{"role": "user", "content": "How much did we spend on AI last week?"}]
Call = Callable[..., Any]


def openai_chat(mock: MockProviders, keys: dict[str, str], model: str, stream: bool = False) -> Any:
    client = openai.OpenAI(base_url=mock.base_url("openai"), api_key=keys["openai"], max_retries=0)
    if not stream:
        return client.chat.completions.create(model=model, messages=MESSAGES)
    chunks = client.chat.completions.create(
        model=model, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def anthropic_messages(mock: MockProviders, keys: dict[str, str], model: str, stream: bool = False) -> Any:
    client = anthropic.Anthropic(
        base_url=mock.base_url("anthropic"), api_key=keys["anthropic"], max_retries=0
    )
    if not stream:
        return client.messages.create(model=model, max_tokens=64, messages=MESSAGES)
    with client.messages.stream(model=model, max_tokens=64, messages=MESSAGES) as events:
        return events.get_final_text()


def gemini_generate(mock: MockProviders, keys: dict[str, str], model: str, stream: bool = False) -> Any:
    options = genai_types.HttpOptions(
        base_url=mock.base_url("gemini"), retry_options=genai_types.HttpRetryOptions(attempts=1)
    )
    client = genai.Client(api_key=keys["gemini"], http_options=options)  # keep it referenced: it closes on GC
    if not stream:
        return client.models.generate_content(model=model, contents="hello")
    return "".join(r.text or "" for r in client.models.generate_content_stream(model=model, contents="hello"))


def groq_chat(mock: MockProviders, keys: dict[str, str], model: str, stream: bool = False) -> Any:
    client = groq.Groq(base_url=mock.base_url("groq"), api_key=keys["groq"], max_retries=0)
    return client.chat.completions.create(model=model, messages=MESSAGES)


def cohere_chat(mock: MockProviders, keys: dict[str, str], model: str, stream: bool = False) -> Any:
    client = cohere.ClientV2(api_key=keys["cohere"], base_url=mock.base_url("cohere"))
    return client.chat(model=model, messages=MESSAGES, request_options={"max_retries": 0})


def mistral_chat(mock: MockProviders, keys: dict[str, str], model: str, stream: bool = False) -> Any:
    return Mistral(api_key=keys["mistral"], server_url=mock.base_url("mistral")).chat.complete(
        model=model, messages=MESSAGES
    )


VENDOR_OF: dict[Call, str] = {
    openai_chat: "openai",
    anthropic_messages: "anthropic",
    gemini_generate: "gemini",
    groq_chat: "groq",
    cohere_chat: "cohere",
    mistral_chat: "mistral",
}


def with_knobs(mock: MockProviders, call: Call, **knobs: Any) -> None:
    """Set knobs for every request to the vendor `call` talks to (the test fixture clears them)."""
    mock.configure(VENDOR_OF[call], Knobs(**knobs))


HTTP_FAULT_CASES = [
    pytest.param(openai_chat, "gpt-4o-mini", "429", openai.RateLimitError, id="openai-429-RateLimitError"),
    pytest.param(
        openai_chat, "gpt-4o-mini", "500", openai.InternalServerError, id="openai-500-InternalServerError"
    ),
    pytest.param(
        openai_chat, "gpt-4o-mini", "503", openai.InternalServerError, id="openai-503-InternalServerError"
    ),
    pytest.param(anthropic_messages, "claude-haiku-4-5", "429", anthropic.RateLimitError, id="anthropic-429"),
    pytest.param(
        anthropic_messages,
        "claude-haiku-4-5",
        "529",
        anthropic.OverloadedError,
        id="anthropic-529-Overloaded",
    ),
    pytest.param(
        anthropic_messages, "claude-haiku-4-5", "503", anthropic.ServiceUnavailableError, id="anthropic-503"
    ),
    pytest.param(
        gemini_generate, "gemini-2.5-flash", "429", genai_errors.ClientError, id="gemini-429-ClientError"
    ),
    pytest.param(
        gemini_generate, "gemini-2.5-flash", "503", genai_errors.ServerError, id="gemini-503-ServerError"
    ),
    pytest.param(
        groq_chat, "llama-3.3-70b-versatile", "429", groq.RateLimitError, id="groq-429-RateLimitError"
    ),
    pytest.param(cohere_chat, "command-a-03-2025", "429", cohere.TooManyRequestsError, id="cohere-429"),
    pytest.param(cohere_chat, "command-a-03-2025", "503", cohere.ServiceUnavailableError, id="cohere-503"),
    pytest.param(mistral_chat, "mistral-small-latest", "429", MistralError, id="mistral-429-SDKError"),
]


@pytest.mark.parametrize(("call", "model", "fault", "raised"), HTTP_FAULT_CASES)
def test_http_fault_raises_the_sdk_error_for_that_status(
    mock: MockProviders,
    fake_keys: dict[str, str],
    call: Call,
    model: str,
    fault: str,
    raised: type[Exception],
) -> None:
    with_knobs(mock, call, fault=fault, retry_after=3)
    with pytest.raises(raised):
        call(mock, fake_keys, model)
    served = mock.calls[-1]
    assert (served.http_status, served.fault, served.usage, served.request_model) == (
        int(fault),
        fault,
        None,
        model,
    )


def test_rate_limit_carries_retry_after_headers_and_the_openai_error_body(mock: MockProviders) -> None:
    response = httpx.post(
        mock.base_url("openai") + "/chat/completions",
        json={"model": "gpt-4o-mini", "messages": MESSAGES},
        headers={"x-mock-fault": "429", "x-mock-retry-after": "2"},
    )
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2" and response.headers["retry-after-ms"] == "2000"
    assert response.headers["x-request-id"] == mock.calls[-1].request_id
    assert response.json()["error"]["code"] == "rate_limit_exceeded"


def test_anthropic_overload_body_has_the_overloaded_error_type(mock: MockProviders) -> None:
    response = httpx.post(
        mock.base_url("anthropic") + "/v1/messages",
        json={"model": "claude-haiku-4-5", "max_tokens": 8, "messages": MESSAGES},
        headers={"x-mock-fault": "529"},
    )
    assert response.status_code == 529
    assert response.json()["error"] == {"type": "overloaded_error", "message": "Overloaded"}
    assert response.headers["request-id"] == mock.calls[-1].request_id


@pytest.mark.parametrize(
    ("call", "model", "raised"),
    [
        pytest.param(openai_chat, "gpt-4o-mini", openai.APIError, id="openai-data-error"),
        pytest.param(
            anthropic_messages, "claude-haiku-4-5", anthropic.APIStatusError, id="anthropic-event-error"
        ),
        pytest.param(gemini_generate, "gemini-2.5-flash", genai_errors.ServerError, id="gemini-error-chunk"),
    ],
)
def test_error_after_200_raises_mid_stream(
    mock: MockProviders, fake_keys: dict[str, str], call: Call, model: str, raised: type[Exception]
) -> None:
    with_knobs(mock, call, fault="error_after_200")
    with pytest.raises(raised):
        call(mock, fake_keys, model, stream=True)
    served = mock.calls[-1]
    assert (served.http_status, served.fault, served.finish_reason) == (200, "error_after_200", None)
    assert served.content and len(served.content.split()) < 5


@pytest.mark.parametrize(
    ("call", "model"),
    [
        pytest.param(openai_chat, "gpt-4o-mini", id="openai"),
        pytest.param(anthropic_messages, "claude-haiku-4-5", id="anthropic"),
        pytest.param(gemini_generate, "gemini-2.5-flash", id="gemini"),
    ],
)
def test_cut_stream_ends_early_without_usage_or_finish_reason(
    mock: MockProviders, fake_keys: dict[str, str], call: Call, model: str
) -> None:
    with_knobs(mock, call, fault="cut", chunks=6)
    text = call(mock, fake_keys, model, stream=True)
    served = mock.calls[-1]
    assert text == served.content and len(text.split()) == 3
    assert served.finish_reason is None and served.fault == "cut"


def test_cut_stream_has_no_terminal_marker_but_a_clean_chunked_end(mock: MockProviders) -> None:
    body = {
        "model": "gpt-4o-mini",
        "messages": MESSAGES,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    with httpx.Client() as client:
        full = client.post(mock.base_url("openai") + "/chat/completions", json=body).text
        cut = client.post(
            mock.base_url("openai") + "/chat/completions", json=body, headers={"x-mock-fault": "cut"}
        ).text
    assert full.endswith("data: [DONE]\n\n") and '"usage":{' in full
    assert "[DONE]" not in cut and '"usage":{' not in cut


def test_reset_raises_a_connection_error(mock: MockProviders, fake_keys: dict[str, str]) -> None:
    with_knobs(mock, openai_chat, fault="reset")
    with_knobs(mock, anthropic_messages, fault="reset")
    with pytest.raises(openai.APIConnectionError):
        openai_chat(mock, fake_keys, "gpt-4o-mini")
    with pytest.raises(anthropic.APIConnectionError):
        anthropic_messages(mock, fake_keys, "claude-haiku-4-5")
    assert [c.http_status for c in mock.calls] == [0, 0]


def test_reset_mid_stream_breaks_the_read(mock: MockProviders, fake_keys: dict[str, str]) -> None:
    with_knobs(mock, openai_chat, fault="reset")
    with pytest.raises(openai.APIConnectionError):
        openai_chat(mock, fake_keys, "gpt-4o-mini", stream=True)
    assert mock.calls[-1].http_status == 200 and mock.calls[-1].fault == "reset"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_malformed_body_fails_json_parsing(
    mock: MockProviders, fake_keys: dict[str, str], stream: bool
) -> None:
    with_knobs(mock, openai_chat, fault="malformed")
    with pytest.raises(json.JSONDecodeError):
        openai_chat(mock, fake_keys, "gpt-4o-mini", stream=stream)


def test_gemini_stream_uses_crlf_framing_and_no_terminal_marker(mock: MockProviders) -> None:
    url = mock.base_url("gemini") + "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    text = httpx.post(url, json={"contents": [{"parts": [{"text": "hi"}]}]}).text
    events = [e for e in text.split("\r\n\r\n") if e]
    assert len(events) == 5 and all(e.startswith("data: {") for e in events)
    assert mock.calls[-1].request_model == "gemini-2.5-flash"


def test_gemini_stream_without_alt_sse_is_one_json_array(mock: MockProviders) -> None:
    url = mock.base_url("gemini") + "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    chunks = httpx.post(url, json={"contents": [{"parts": [{"text": "hi"}]}]}).json()
    assert len(chunks) == 5 and chunks[-1]["candidates"][0]["finishReason"] == "STOP"


def test_fail_times_lets_sdk_retries_succeed_and_counts_them(
    mock: MockProviders, fake_keys: dict[str, str]
) -> None:
    client = openai.OpenAI(base_url=mock.base_url("openai"), api_key=fake_keys["openai"], max_retries=2)
    response = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        extra_headers={"x-mock-fail-times": "2", "x-mock-fault": "503", "x-mock-retry-after": "0.01"},
    )
    assert response.choices[0].message.content == mock.calls[-1].content
    assert [(c.retry_count, c.fault, c.http_status) for c in mock.calls] == [
        (0, "503", 503),
        (1, "503", 503),
        (2, None, 200),
    ]


def test_gzip_knob_compresses_json_and_streams(mock: MockProviders, fake_keys: dict[str, str]) -> None:
    response = httpx.post(
        mock.base_url("openai") + "/chat/completions",
        json={"model": "gpt-4o-mini", "messages": MESSAGES},
        headers={"x-mock-gzip": "true"},
    )
    assert response.headers["content-encoding"] == "gzip"
    assert response.json()["choices"][0]["message"]["content"] == mock.calls[-1].content
    with_knobs(mock, openai_chat, gzip=True)
    text = openai_chat(mock, fake_keys, "gpt-4o-mini", stream=True)
    assert text == mock.calls[-1].content


def test_knob_sources_layer_server_then_header(mock: MockProviders, fake_keys: dict[str, str]) -> None:
    mock.configure("openai", Knobs(fault="500", chunks=2))
    with pytest.raises(openai.InternalServerError):
        openai_chat(mock, fake_keys, "gpt-4o-mini")
    client = openai.OpenAI(base_url=mock.base_url("openai"), api_key=fake_keys["openai"], max_retries=0)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, extra_headers={"x-mock-fault": "429"}
        )
    mock.configure("openai", None)
    answer = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, extra_headers={"x-mock-chunks": "7"}
    )
    assert len(answer.choices[0].message.content.split()) == 7
    assert [c.http_status for c in mock.calls] == [500, 429, 200]


def test_a_model_name_is_never_read_as_knobs(mock: MockProviders, fake_keys: dict[str, str]) -> None:
    """What once was a knob suffix is now part of an (unknown) model name: no fault, no stripping."""
    answer = openai_chat(mock, fake_keys, "gpt-4o-mini@fault=429,retry_after=0.01")
    served = mock.calls[-1]
    assert (served.http_status, served.fault) == (200, None)
    assert served.request_model == answer.model == "gpt-4o-mini@fault=429,retry_after=0.01"


def test_latency_and_ttft_delay_the_answer_at_least_that_long(
    mock: MockProviders, fake_keys: dict[str, str]
) -> None:
    with_knobs(mock, openai_chat, latency_ms=30, ttft_ms=40, chunk_delay_ms=5)
    openai_chat(mock, fake_keys, "gpt-4o-mini", stream=True)
    served = mock.calls[-1]
    assert served.finished_at - served.started_at >= 0.030 + 0.040 + 4 * 0.005


def test_unknown_knob_is_a_400_in_the_vendor_shape(mock: MockProviders, fake_keys: dict[str, str]) -> None:
    client = anthropic.Anthropic(
        base_url=mock.base_url("anthropic"), api_key=fake_keys["anthropic"], max_retries=0
    )
    with pytest.raises(anthropic.BadRequestError, match="unknown mock knob"):
        client.messages.create(
            model="claude-haiku-4-5", max_tokens=64, messages=MESSAGES, extra_headers={"x-mock-flux": "1"}
        )


def test_unknown_path_is_a_404(mock: MockProviders) -> None:
    assert httpx.post(mock.base_url("openai") + "/nope", json={}).status_code == 404
    assert mock.calls[-1].http_status == 404


def test_max_tokens_truncates_with_the_vendor_finish_reason(
    mock: MockProviders, fake_keys: dict[str, str]
) -> None:
    client = anthropic.Anthropic(
        base_url=mock.base_url("anthropic"), api_key=fake_keys["anthropic"], max_retries=0
    )
    message = client.messages.create(
        model="claude-haiku-4-5", max_tokens=10, messages=MESSAGES, extra_headers={"x-mock-chunks": "40"}
    )
    assert message.stop_reason == "max_tokens" == mock.calls[-1].finish_reason
    assert message.usage.output_tokens <= 10


def test_keep_alive_serves_many_requests_on_one_connection(mock: MockProviders) -> None:
    with httpx2.Client() as client:
        for _ in range(20):
            client.post(
                mock.base_url("openai") + "/chat/completions",
                json={"model": "gpt-4o-mini", "messages": MESSAGES},
            )
    assert len(mock.calls) == 20


def test_a_request_the_mock_cannot_answer_is_a_500_and_the_server_keeps_serving(mock: MockProviders) -> None:
    odd = httpx.post(
        mock.base_url("anthropic") + "/v1/messages", json={"model": "claude-haiku-4-5", "messages": 7}
    )
    assert odd.status_code == 500 and odd.json()["error"]["type"] == "api_error"
    fine = httpx.post(
        mock.base_url("anthropic") + "/v1/messages", json={"model": "claude-haiku-4-5", "messages": []}
    )
    assert fine.status_code == 200
    assert [c.http_status for c in mock.calls] == [500, 200]
