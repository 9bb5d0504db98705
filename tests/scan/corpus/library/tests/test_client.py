import pytest

from acme_llm_kit import Chat


@pytest.mark.vcr
def test_ask_openai():
    assert Chat("gpt-4o-mini").ask("hi")


@pytest.mark.vcr
def test_ask_claude():
    assert Chat("anthropic/claude-3-5-haiku-20241022").ask("hi")
