"""The demo company's application code: the provider SDKs called exactly as a product team would.

Nothing here knows about modelmeter. Clients are built once per team and vendor (each team has its
own keys), then every workflow call is one ordinary SDK call, streamed or not. When a provider still
fails after the SDK's own retries, the app falls back to the workflow's second choice, as
production code does. The only demo-specific input is `Deployment`: where each vendor lives (the
mock providers' loopback URLs) and the fake keys.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import anthropic
import httpx2
import openai
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types
from mistralai.client import Mistral
from mistralai.client.errors import MistralError

from modelmeter.demo.scenario import PlannedCall, Target, Workflow

# What "the provider failed" looks like from each SDK once its own retries are spent.
PROVIDER_ERRORS: tuple[type[BaseException], ...] = (
    openai.APIError,
    anthropic.APIError,
    genai_errors.APIError,
    MistralError,
    httpx2.HTTPError,
)

# Fake keys, shaped like each vendor's real ones so the key inventory reads naturally.
_KEY_SHAPE: dict[str, Callable[[str], str]] = {
    "openai": lambda tail: f"sk-proj-DEMO{tail}",
    "anthropic": lambda tail: f"sk-ant-api03-DEMO{tail}",
    "gemini": lambda tail: f"AIzaSyDEMO{tail[:29]}",
    "mistral": lambda tail: f"DEMO{tail[:28]}",
    "vercel": lambda tail: f"vck_DEMO{tail}",
    "openrouter": lambda tail: f"sk-or-v1-DEMO{tail}",
}

_VOCABULARY = (
    "shipment", "invoice", "customer", "warehouse", "carrier", "pallet", "delivery", "route", "quote",
    "contract", "schedule", "dispatch", "inventory", "priority", "refund", "damage", "customs", "tracking",
    "driver", "forecast", "capacity", "margin", "region", "account", "renewal", "escalation", "order",
)  # fmt: skip

_INSTRUCTIONS: dict[str, str] = {
    "meeting-notes": "Summarise this meeting transcript into decisions, owners and open questions.",
    "ticket-classification": "Classify this support ticket. Answer with JSON: {category, urgency}.",
    "field-extraction": "Extract invoice number, total, currency and due date as JSON.",
    "code-synthesis": "Write a Python function for the change described below, with tests.",
    "client-proposals": "Draft a proposal for this client from the notes and price sheet below.",
    "product-images": "Studio photo of the product described below on a plain background.",
}


@dataclass(frozen=True)
class Deployment:
    """Where each vendor is reachable (`vendor -> base URL`) for this run of the app."""

    base_urls: Mapping[str, str]

    def key(self, vendor: str, team: str) -> str:
        """The team's (fake) key for a vendor: stable, so one team's calls share one fingerprint."""
        tail = hashlib.sha256(f"{vendor}:{team}".encode()).hexdigest()[:32]
        return _KEY_SHAPE[vendor](tail)


class NorthwindApp:
    """Clients built on first use per (team, vendor), shared by the worker threads like a web app's."""

    def __init__(self, deployment: Deployment) -> None:
        self._deployment = deployment
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def handle(self, call: PlannedCall, rng: random.Random) -> None:
        """Serve one planned call: the primary target, then the workflow's fallback if that failed.

        A call that fails both ways is given up, as the app would; its spans record the failure.
        """
        prompt = _prompt(call.workflow, rng)
        fallback = call.workflow.fallback
        try:
            self._call(call.workflow, call.target, prompt, call.streaming)
        except PROVIDER_ERRORS:
            if fallback is not None:
                with suppress(*PROVIDER_ERRORS):
                    self._call(call.workflow, fallback, prompt, call.streaming)

    def _client(self, target: Target, team: str) -> Any:
        slot = (target.vendor, team)
        with self._lock:
            if slot not in self._clients:
                key = self._deployment.key(target.vendor, team)
                self._clients[slot] = _CLIENT_FACTORIES[target.sdk](
                    key, self._deployment.base_urls[target.vendor]
                )
            return self._clients[slot]

    def _call(self, workflow: Workflow, target: Target, prompt: str, streaming: bool) -> None:
        client = self._client(target, workflow.team)
        instruction = _INSTRUCTIONS.get(workflow.name, "Answer helpfully.")
        if target.operation == "images":
            client.images.generate(model=target.model, prompt=f"{instruction}\n{prompt}", size="1024x1024")
            return
        _CALLERS[target.sdk](client, target, instruction, prompt, workflow.max_tokens, streaming)


def _prompt(workflow: Workflow, rng: random.Random) -> str:
    """A document of about `prompt_words` words (±30 %), standing in for the real input."""
    words = max(5, round(workflow.prompt_words * rng.uniform(0.7, 1.3)))
    return " ".join(rng.choices(_VOCABULARY, k=words))


def _openai_client(key: str, base_url: str) -> openai.OpenAI:
    return openai.OpenAI(api_key=key, base_url=base_url)


def _anthropic_client(key: str, base_url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=key, base_url=base_url)


def _google_client(key: str, base_url: str) -> genai.Client:
    return genai.Client(api_key=key, http_options=genai_types.HttpOptions(base_url=base_url))


def _mistral_client(key: str, base_url: str) -> Mistral:
    return Mistral(api_key=key, server_url=base_url)


_CLIENT_FACTORIES: dict[str, Callable[[str, str], Any]] = {
    "openai": _openai_client,
    "anthropic": _anthropic_client,
    "google": _google_client,
    "mistral": _mistral_client,
}


def _call_openai(
    client: openai.OpenAI, target: Target, instruction: str, prompt: str, max_tokens: int, streaming: bool
) -> None:
    messages: list[Any] = [{"role": "system", "content": instruction}, {"role": "user", "content": prompt}]
    extra_body = _gateway_fallbacks(target)
    if not streaming:
        client.chat.completions.create(
            model=target.model, messages=messages, max_completion_tokens=max_tokens, extra_body=extra_body
        )
        return
    stream = client.chat.completions.create(
        model=target.model,
        messages=messages,
        max_completion_tokens=max_tokens,
        stream=True,
        stream_options={"include_usage": True},
        extra_body=extra_body,
    )
    for _chunk in stream:
        pass


def _gateway_fallbacks(target: Target) -> dict[str, Any] | None:
    """The gateway's own fallback list, in the request body where each gateway reads it."""
    if not target.fallback_models:
        return None
    if target.vendor == "vercel":
        return {"providerOptions": {"gateway": {"models": list(target.fallback_models)}}}
    return {"models": [target.model, *target.fallback_models]}


def _call_anthropic(
    client: anthropic.Anthropic,
    target: Target,
    instruction: str,
    prompt: str,
    max_tokens: int,
    streaming: bool,
) -> None:
    messages: list[Any] = [{"role": "user", "content": prompt}]
    if not streaming:
        client.messages.create(
            model=target.model, max_tokens=max_tokens, system=instruction, messages=messages
        )
        return
    with client.messages.stream(
        model=target.model, max_tokens=max_tokens, system=instruction, messages=messages
    ) as stream:
        for _text in stream.text_stream:
            pass


def _call_google(
    client: genai.Client, target: Target, instruction: str, prompt: str, max_tokens: int, streaming: bool
) -> None:
    config = genai_types.GenerateContentConfig(system_instruction=instruction, max_output_tokens=max_tokens)
    if not streaming:
        client.models.generate_content(model=target.model, contents=prompt, config=config)
        return
    for _chunk in client.models.generate_content_stream(model=target.model, contents=prompt, config=config):
        pass


def _call_mistral(
    client: Mistral, target: Target, instruction: str, prompt: str, max_tokens: int, streaming: bool
) -> None:
    messages: list[Any] = [{"role": "system", "content": instruction}, {"role": "user", "content": prompt}]
    if not streaming:
        client.chat.complete(model=target.model, messages=messages, max_tokens=max_tokens)
        return
    with client.chat.stream(model=target.model, messages=messages, max_tokens=max_tokens) as stream:
        for _event in stream:
            pass


_CALLERS: dict[str, Callable[..., None]] = {
    "openai": _call_openai,
    "anthropic": _call_anthropic,
    "google": _call_google,
    "mistral": _call_mistral,
}
