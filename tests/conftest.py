"""Shared fixtures: the mock providers every SDK-level test talks to, and obviously fake keys."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from modelmeter.mock import MockProviders

FAKE_KEYS = {
    "openai": "sk-proj-FAKE0000000000000000000000000000000000000000",
    "anthropic": "sk-ant-api03-FAKE00000000000000000000000000000000000000",
    "gemini": "AIzaFAKE000000000000000000000000000000",
    "mistral": "FAKEmistral00000000000000000000",
    "groq": "gsk_FAKE0000000000000000000000000000000000000000",
    "cohere": "FAKEcohere000000000000000000000000000000",
    "vercel": "vck_FAKE00000000000000000000000000000000",
    "openrouter": "sk-or-v1-FAKE000000000000000000000000000000000000000000",
}


@pytest.fixture(scope="session")
def _mock_servers() -> Iterator[MockProviders]:
    with MockProviders() as servers:
        yield servers


@pytest.fixture
def mock(_mock_servers: MockProviders) -> Iterator[MockProviders]:
    """Running mock providers (shared by the session), with calls and knobs cleared for each test."""
    _mock_servers.reset()
    yield _mock_servers
    _mock_servers.reset()


@pytest.fixture
def fake_keys() -> dict[str, str]:
    """Vendor -> an obviously fake API key of the right shape."""
    return dict(FAKE_KEYS)
