"""Nightly enrichment jobs, through the Vercel AI Gateway."""

import os

from openai import OpenAI

client = OpenAI(
    base_url="https://ai-gateway.vercel.sh/v1",
    api_key=os.environ["AI_GATEWAY_API_KEY"],
)


def enrich(record: dict) -> str:
    reply = client.chat.completions.create(
        model="anthropic/claude-haiku-4.5",
        messages=[{"role": "user", "content": str(record)}],
        extra_body={"providerOptions": {"gateway": {"models": ["openai/gpt-5-nano"]}}},
    )
    return reply.choices[0].message.content or ""
