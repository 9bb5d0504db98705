"""OpenAI embeddings and image generation: one JSON body each, usage with input tokens only.

Through a gateway an embeddings body also says what it cost: OpenRouter's `usage.cost`, Vercel's
top-level `providerMetadata.gateway` (the shape Vercel's embeddings page documents).

Embedding bodies can be large (vectors); usage and model sit at the end, which is why the JSON
reader in `streams.py` keeps the tail of an over-size body. Image usage (gpt-image) follows the
Responses shape; older image models send none, and then usage stays unknown.
"""

from __future__ import annotations

from typing import Any

from modelmeter.instrument.providers.base import Facts, WireFamily, as_str, dig, error_type_of
from modelmeter.instrument.providers.gateway_extras import read_vercel_metadata


class OpenAIEmbeddings(WireFamily):
    NAME = "openai.embeddings"
    OPERATION = "embeddings"

    def matches(self, path: str) -> bool:
        return path.endswith("/embeddings")

    def read_json(self, doc: Any, facts: Facts) -> None:
        if not isinstance(doc, dict):
            return
        if doc.get("error") is not None:
            facts.error_type = error_type_of(doc["error"])
            return
        facts.response_model = as_str(doc.get("model")) or facts.response_model
        usage = doc.get("usage")
        if isinstance(usage, dict):
            facts.set_usage(usage.get("prompt_tokens", usage.get("input_tokens")), 0)
            if "cost" in usage:
                facts.report_cost(usage.get("cost"), "usage.cost")
        read_vercel_metadata(doc, facts)


class OpenAIImages(WireFamily):
    NAME = "openai.images"
    OPERATION = "images"

    def matches(self, path: str) -> bool:
        return path.endswith(("/images/generations", "/images/edits"))

    def read_json(self, doc: Any, facts: Facts) -> None:
        if not isinstance(doc, dict):
            return
        if doc.get("error") is not None:
            facts.error_type = error_type_of(doc["error"])
            return
        usage = doc.get("usage")
        if isinstance(usage, dict):
            facts.set_usage(
                usage.get("input_tokens"),
                usage.get("output_tokens"),
                cache_read=dig(usage, "input_tokens_details", "cached_tokens"),
            )


EMBEDDINGS = OpenAIEmbeddings()
IMAGES = OpenAIImages()
