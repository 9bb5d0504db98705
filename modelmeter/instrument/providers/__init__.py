"""One module per wire family, all with the interface of `base.WireFamily`.

`FAMILIES` is checked in order by request path; the first that matches reads the response. A new
family is one module here plus its entry below.
"""

from __future__ import annotations

from modelmeter.instrument.providers import (
    anthropic_messages,
    cohere_v2,
    gemini,
    mistral,
    openai_chat,
    openai_embeddings,
    openai_responses,
)
from modelmeter.instrument.providers.base import Facts, WireFamily

FAMILIES: tuple[WireFamily, ...] = (
    openai_chat.FAMILY,
    anthropic_messages.FAMILY,
    gemini.FAMILY,
    openai_responses.FAMILY,
    openai_embeddings.EMBEDDINGS,
    openai_embeddings.IMAGES,
    mistral.FAMILY,
    cohere_v2.FAMILY,
)


def family_for(path: str) -> WireFamily | None:
    for family in FAMILIES:
        if family.matches(path):
            return family
    return None


__all__ = ["FAMILIES", "Facts", "WireFamily", "family_for"]
