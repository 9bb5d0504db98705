"""Canonical model names: `provider/name` in gateway naming, so one model compares equal on every route.

The rule (documented for reports and ingest):
1. The model is the one that answered (response model), else the one requested.
2. A `vendor/` prefix (gateway naming) gives the provider; otherwise the provider is inferred from
   the name (gpt-/o3/text-embedding -> openai, claude -> anthropic, gemini -> google, llama -> meta,
   ...: `vendors.MODEL_NAME_VENDORS`), else the API vendor that served it.
3. Names are cleaned so direct and gateway spellings meet: Google's `models/` prefix and Vertex
   `@version` suffixes go; Anthropic ids lose their date (`-20250929`) or `-latest` suffix and
   have their dashed version joined with a dot (`claude-sonnet-4-5` -> `claude-sonnet-4.5`,
   `claude-3-5-haiku` -> `claude-3.5-haiku`), as gateways write them; OpenAI snapshot dates
   (`gpt-4o-mini-2024-07-18` -> `gpt-4o-mini`) go too.
4. A `@key=value,...` tail is a test harness's settings, never part of a model (`gpt-4o-mini@fault=429`
   -> `gpt-4o-mini`); Vertex versions (`@20250514`) have no `=` and are handled by rule 3.
"""

from __future__ import annotations

import re
from functools import lru_cache

from modelmeter.vendors import MODEL_NAME_VENDORS, MODEL_PREFIX_VENDORS

_ANTHROPIC_DATE = re.compile(r"(?:-\d{8}|-latest|@\d{8}|@latest)$")
_ANTHROPIC_VERSION = re.compile(r"(?<=-\d)-(?=\d(?:-|$))")
_OPENAI_DATE = re.compile(r"-\d{4}-\d{2}-\d{2}$")
_VERTEX_VERSION = re.compile(r"@[\w.-]+$")
_SETTINGS_TAIL = re.compile(r"@[A-Za-z_][\w-]*=.*$")


def vendor_of_name(name: str) -> str | None:
    lowered = name.lower()
    for marks, vendor in MODEL_NAME_VENDORS:
        if lowered.startswith(marks):
            return vendor
    return None


@lru_cache(maxsize=4096)
def canonical(model: str, fallback_vendor: str | None) -> tuple[str | None, str]:
    """(provider, `provider/name`) for a model id; provider None when nothing tells it."""
    name = _SETTINGS_TAIL.sub("", model.removeprefix("models/"))
    prefix, slash, rest = name.partition("/")
    vendor: str | None
    if slash and rest:
        vendor = MODEL_PREFIX_VENDORS.get(prefix.lower(), prefix.lower())
        name = rest
    else:
        vendor = vendor_of_name(name) or fallback_vendor
    name = clean_name(name, vendor)
    return vendor, f"{vendor}/{name}" if vendor else name


def clean_name(name: str, vendor: str | None) -> str:
    if vendor == "anthropic" or name.startswith("claude"):
        name = _ANTHROPIC_DATE.sub("", name)
        return _ANTHROPIC_VERSION.sub(".", name)
    if vendor == "openai":
        return _OPENAI_DATE.sub("", name)
    return _VERTEX_VERSION.sub("", name)
