"""Deterministic prompt measuring and answer writing: same request, same tokens, same words."""

from __future__ import annotations

import hashlib
from typing import Any

# keys whose string values are structure, not prompt text
_NOT_TEXT = frozenset(
    {"role", "type", "cache_control", "mime_type", "mimeType", "id", "name", "ttl", "detail"}
)

_WORDS = (
    "amber", "basalt", "cedar", "delta", "ember", "fjord", "granite", "harbor", "indigo", "juniper",
    "kestrel", "lagoon", "meadow", "nectar", "orchid", "pebble", "quartz", "raven", "saffron", "tundra",
    "umber", "violet", "willow", "xenon", "yarrow", "zephyr", "alder", "birch", "comet", "dune",
)  # fmt: skip


def prompt_text(value: Any) -> str:
    """Every string in a request fragment that is prompt text (roles, types and ids left out)."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, str):
            parts.append(node)
        elif isinstance(node, dict):
            for key, child in node.items():
                if key not in _NOT_TEXT:
                    walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(value)
    return "\n".join(parts)


def count_tokens(text: str) -> int:
    """About four characters per token, never zero (a real tokenizer also counts framing)."""
    return max(1, (len(text) + 3) // 4)


def input_tokens(text: str) -> int:
    """Prompt tokens: the text plus a small fixed overhead for the chat template."""
    return count_tokens(text) + 3


def stable_int(*parts: str) -> int:
    """A stable 32-bit number from text (Python's hash() is salted per process)."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big")


def answer_pieces(seed: str, chunks: int) -> list[str]:
    """The answer as `chunks` deltas; joined they are the whole answer text."""
    start = stable_int(seed)
    return [("" if i == 0 else " ") + _WORDS[(start + 7 * i) % len(_WORDS)] for i in range(chunks)]


def is_reasoning_model(model: str) -> bool:
    """Models that think before answering (their usage reports reasoning tokens)."""
    name = model.rsplit("/", 1)[-1].lower()
    if name.startswith(("o1", "o3", "o4", "gpt-5")):
        return not name.startswith("gpt-5-chat")
    if name.startswith("gemini-"):
        return ("2.5" in name or name.startswith("gemini-3")) and "lite" not in name and "image" not in name
    return "reasoner" in name or "thinking" in name


def reasoning_tokens(model: str, visible_output: int) -> int:
    """Thinking tokens a reasoning model spends for an answer of `visible_output` tokens (else 0)."""
    return 16 + 2 * visible_output if is_reasoning_model(model) else 0


def model_vendor(model: str) -> str:
    """The model's vendor in gateway naming (`openai`, `anthropic`, `google`, `meta`, ...)."""
    prefix, slash, _name = model.partition("/")
    if slash:
        return {"meta-llama": "meta", "mistralai": "mistral", "x-ai": "xai", "qwen": "alibaba"}.get(
            prefix, prefix
        )
    name = model.lower()
    for marks, vendor in (
        (
            ("gpt", "o1", "o3", "o4", "text-embedding", "dall-e", "chatgpt", "davinci", "whisper", "tts"),
            "openai",
        ),
        (("claude",), "anthropic"),
        (("gemini", "gemma", "imagen"), "google"),
        (("mistral", "mixtral", "magistral", "codestral", "ministral", "pixtral", "devstral"), "mistral"),
        (("llama",), "meta"),
        (("command", "embed-", "rerank", "c4ai"), "cohere"),
        (("grok",), "xai"),
        (("deepseek",), "deepseek"),
        (("qwen",), "alibaba"),
    ):
        if name.startswith(marks):
            return vendor
    return "unknown"


def implicit_cached_tokens(prompt_tokens: int) -> int:
    """Automatic caching of long prompts: half the prompt, in 128-token blocks, from 1024 tokens on."""
    return (prompt_tokens // 2) // 128 * 128 if prompt_tokens >= 1024 else 0


def fit_to_limit(pieces: list[str], limit: int | None) -> tuple[list[str], bool]:
    """Drop trailing pieces until the answer fits `limit` output tokens; True when something was dropped."""
    if limit is None or limit <= 0:
        return pieces, False
    kept = list(pieces)
    while len(kept) > 1 and count_tokens("".join(kept)) > limit:
        kept.pop()
    return kept, len(kept) < len(pieces)
