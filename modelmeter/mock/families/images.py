"""Image generation (`POST /v1/images/generations`): gpt-image-1 style token usage, DALL-E without.

gpt-image-1 bills image output tokens by quality and size; the table is OpenAI's published one.
"""

from __future__ import annotations

import base64
import time
from typing import Any

from modelmeter.mock.answer import Answer, Ask
from modelmeter.mock.calls import MockUsage
from modelmeter.mock.text import input_tokens, prompt_text

# a 1x1 transparent PNG: the SDK only passes the bytes through
_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
_OUTPUT_TOKENS = {
    ("low", "1024x1024"): 272,
    ("low", "1024x1536"): 408,
    ("low", "1536x1024"): 400,
    ("medium", "1024x1024"): 1056,
    ("medium", "1024x1536"): 1584,
    ("medium", "1536x1024"): 1568,
    ("high", "1024x1024"): 4160,
    ("high", "1024x1536"): 6240,
    ("high", "1536x1024"): 6208,
}


def build_images(ask: Ask) -> Answer:
    model = ask.model or "dall-e-2"  # the API's default when the request names none
    count = int(ask.body.get("n") or 1)
    token_billed = model.startswith("gpt-image")
    as_url = not token_billed and ask.body.get("response_format") == "url"
    encoded = base64.b64encode(_PNG).decode()
    item: dict[str, Any] = (
        {"url": f"https://mock.invalid/images/{ask.seq}.png"} if as_url else {"b64_json": encoded}
    )
    body: dict[str, Any] = {"created": int(time.time()), "data": [dict(item) for _ in range(count)]}
    usage = wire = None
    if token_billed:
        quality = ask.body.get("quality") or "auto"
        size = ask.body.get("size") or "auto"
        per_image = _OUTPUT_TOKENS.get(
            ("medium" if quality == "auto" else quality, "1024x1024" if size == "auto" else size), 1056
        )
        prompt = input_tokens(prompt_text(ask.body.get("prompt")))
        usage = MockUsage(prompt, per_image * count)
        wire = {
            "input_tokens": prompt,
            "input_tokens_details": {"text_tokens": prompt, "image_tokens": 0},
            "output_tokens": usage.output_tokens,
            "total_tokens": prompt + usage.output_tokens,
        }
        body |= {
            "background": "opaque",
            "output_format": "png",
            "quality": quality,
            "size": size,
            "usage": wire,
        }
    return Answer(
        operation="images",
        response_model=None,  # an images response names no model
        provider="openai",
        response_id=None,
        finish_reason=None,
        content="",
        body=body,
        usage=usage,
        wire_usage=wire,
    )
