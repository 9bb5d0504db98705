"""Ticket classification: a cheap model first, Claude when the ticket is long."""

import anthropic
from openai import OpenAI

from app import settings

openai_client = OpenAI(api_key=settings.OPENAI_API_KEY)
claude = anthropic.Anthropic(api_key=settings.ANTHROPIC_API_KEY)

CHEAP_MODEL = "gpt-4.1-mini"
LONG_MODEL = "claude-sonnet-4-5-20250929"


def classify(ticket: str) -> str:
    if len(ticket) < 4000:
        reply = openai_client.chat.completions.create(
            model=CHEAP_MODEL, messages=[{"role": "user", "content": ticket}]
        )
        return reply.choices[0].message.content or ""
    message = claude.messages.create(
        model=LONG_MODEL, max_tokens=200, messages=[{"role": "user", "content": ticket}]
    )
    return message.content[0].text
