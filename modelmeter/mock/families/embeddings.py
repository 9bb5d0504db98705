"""Embeddings (`POST .../embeddings`), OpenAI shape, also served by Mistral and the gateways.

The OpenAI SDK asks for base64 unless the caller chose floats, and decodes it itself.
"""

from __future__ import annotations

import base64
import struct
from typing import Any

from modelmeter.mock.answer import Answer, Ask
from modelmeter.mock.calls import MockUsage
from modelmeter.mock.gateways import is_byok, reported_cost, vercel_gateway_metadata
from modelmeter.mock.text import input_tokens, model_vendor, prompt_text, stable_int

DEFAULT_DIMENSIONS = 16


def _vector(text: str, dimensions: int) -> list[float]:
    seed = stable_int(text)
    return [((seed >> (i % 24)) % 2001 - 1000) / 1000.0 for i in range(dimensions)]


def build_embeddings(ask: Ask) -> Answer:
    raw = ask.body.get("input")
    inputs = raw if isinstance(raw, list) and raw and not isinstance(raw[0], int) else [raw]
    dimensions = int(ask.body.get("dimensions") or ask.body.get("output_dimension") or DEFAULT_DIMENSIONS)
    as_base64 = ask.body.get("encoding_format") == "base64"
    data: list[dict[str, Any]] = []
    for index, item in enumerate(inputs):
        vector = _vector(prompt_text(item) if not isinstance(item, list) else str(item), dimensions)
        packed: Any = (
            base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode() if as_base64 else vector
        )
        data.append({"object": "embedding", "index": index, "embedding": packed})
    prompt = sum(input_tokens(prompt_text(i) if not isinstance(i, list) else str(i)) - 3 for i in inputs)
    usage = MockUsage(prompt, 0)
    wire: dict[str, Any] = {"prompt_tokens": prompt, "total_tokens": prompt}
    body: dict[str, Any] = {"object": "list", "data": data, "model": ask.model, "usage": wire}
    if ask.vendor == "mistral":
        body["id"] = ask.make_id("embd-mock")
        wire["completion_tokens"] = 0
    answer = Answer(
        operation="embeddings",
        response_model=ask.model,
        provider=model_vendor(ask.model),
        response_id=body.get("id"),
        finish_reason=None,
        content="",
        body=body,
        usage=usage,
        wire_usage=wire,
        served_by=ask.routing.served_by if ask.routing else None,
        byok=is_byok(ask),
    )
    if ask.routing is not None:
        answer.reported_cost_usd = reported_cost(ask, usage)
        if ask.routing.gateway == "vercel":  # top-level camelCase, as Vercel's embeddings page shows
            body["providerMetadata"] = {"gateway": vercel_gateway_metadata(ask, usage)}
        else:
            wire["cost"] = float(answer.reported_cost_usd)
    return answer
