"""A thin chat client: OpenAI by default, any LiteLLM model string otherwise."""

from __future__ import annotations

import litellm
from openai import OpenAI

DEFAULT_MODEL = "gpt-4o-mini"


class Chat:
    def __init__(self, model: str = DEFAULT_MODEL, api_key: str | None = None) -> None:
        self.model = model
        self._openai = OpenAI(api_key=api_key) if "/" not in model else None

    def ask(self, prompt: str) -> str:
        messages = [{"role": "user", "content": prompt}]
        if self._openai is not None:
            reply = self._openai.chat.completions.create(model=self.model, messages=messages)
        else:
            reply = litellm.completion(model=self.model, messages=messages)
        return reply.choices[0].message.content or ""
