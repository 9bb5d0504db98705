"""Mistral chat and FIM: the OpenAI chat wire format, sent to Mistral's own paths.

Mistral sends streamed usage on the finish chunk without being asked, and has no cache or
reasoning breakdown; the OpenAI chat reader already handles both. This module only adds the
Mistral-only paths (`/v1/fim/completions`, `/v1/agents/completions`).
"""

from __future__ import annotations

from modelmeter.instrument.providers.openai_chat import OpenAIChat


class MistralChat(OpenAIChat):
    NAME = "mistral.chat"
    OPERATION = "chat"

    def matches(self, path: str) -> bool:
        return path.endswith(("/fim/completions", "/agents/completions"))


FAMILY = MistralChat()
