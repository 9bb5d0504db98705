"""Static inventory of a codebase: which AI SDKs it imports, which model names and key variables it
mentions, which endpoints it points at, and which literal keys sit in its files (masked).

This is the first step of a migration audit before any traffic is observed: it reads files, runs
nothing. A literal key is reported only as its fingerprint and kind (modelmeter/instrument/keys.py),
never as the secret.
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from modelmeter.instrument.keys import credential_of
from modelmeter.instrument.naming import vendor_of_name
from modelmeter.instrument.routes import kind_of

_TEXT_SUFFIXES = {
    ".py",
    ".ipynb",
    ".js",
    ".mjs",
    ".cjs",
    ".ts",
    ".tsx",
    ".jsx",
    ".toml",
    ".yaml",
    ".yml",
    ".json",
    ".cfg",
    ".ini",
    ".env",
    ".sh",
    ".md",
    ".txt",
}
_SKIP_DIRS = {
    ".git",
    ".venv",
    "venv",
    "node_modules",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    "dist",
    "build",
    ".tox",
    ".pytest_cache",
    ".modelmeter",
}
_MAX_FILE_BYTES = 2 * 1024 * 1024

# import spelling -> SDK name
_SDK_IMPORTS = {
    "openai": "openai",
    "anthropic": "anthropic",
    "google.genai": "google-genai",
    "google.generativeai": "google-generativeai",
    "mistralai": "mistralai",
    "groq": "groq",
    "cohere": "cohere",
    "litellm": "litellm",
    "langchain_openai": "langchain-openai",
    "langchain_anthropic": "langchain-anthropic",
    "together": "together",
    "boto3": "boto3 (bedrock?)",
    "ai": "vercel-ai-sdk",
    "@ai-sdk/openai": "vercel-ai-sdk",
    "@ai-sdk/anthropic": "vercel-ai-sdk",
    "@ai-sdk/gateway": "vercel-ai-sdk",
    "@anthropic-ai/sdk": "anthropic (node)",
    "@openrouter/ai-sdk-provider": "openrouter",
}
_PY_IMPORT = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import|import\s+([\w.]+))", re.M)
_JS_IMPORT = re.compile(r"""(?:from\s+|require\(\s*)['"]([@\w./-]+)['"]""")
_MODEL = re.compile(
    r"""['"]((?:[a-z-]+/)?(?:gpt-[\w.-]+|o[134](?:-[\w.-]+)?|chatgpt-[\w.-]+|text-embedding-[\w.-]+|dall-e-\d|"""
    r"""claude-[\w.-]+|gemini-[\w.-]+|gemma-[\w.-]+|(?:open-)?mistral-[\w.-]+|mixtral-[\w.-]+|"""
    r"""codestral-[\w.-]+|magistral-[\w.-]+|llama-?[\w.-]+|grok-[\w.-]+|deepseek-[\w.-]+|command-[\w.-]+))['"]""",
    re.I,
)
_KEY_VARIABLE = re.compile(r"\b([A-Z][A-Z0-9_]*(?:API_KEY|_TOKEN|_SECRET))\b")
_LITERAL_KEY = re.compile(
    r"\b(sk-(?:proj-|ant-|or-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}|vck_[A-Za-z0-9]{20,}|"
    r"gsk_[A-Za-z0-9]{20,}|xai-[A-Za-z0-9]{20,}|AIza[0-9A-Za-z_-]{35})\b"
)
_URL = re.compile(r"""https?://[^\s'"<>)]+""")


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str  # sdk | model | key_variable | literal_key | endpoint
    value: str  # never a secret: a literal key is "<kind> <fingerprint>"
    detail: str  # vendor / gateway / key kind
    path: str
    line: int


def scan_tree(root: Path) -> list[Finding]:
    """Every finding under `root`, in path and line order."""
    findings: list[Finding] = []
    for path in _text_files(root):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        findings.extend(_scan_text(text, str(path.relative_to(root))))
    return findings


def _text_files(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        for name in sorted(files):
            path = Path(directory, name)
            if (
                path.suffix in _TEXT_SUFFIXES or name.startswith(".env")
            ) and path.stat().st_size <= _MAX_FILE_BYTES:
                yield path


def _scan_text(text: str, path: str) -> Iterator[Finding]:
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line_of(offset: int) -> int:
        return bisect.bisect_right(line_starts, offset)

    for match in _PY_IMPORT.finditer(text):
        module = match.group(1) or match.group(2)
        sdk = _SDK_IMPORTS.get(module) or _SDK_IMPORTS.get(module.split(".")[0])
        if sdk and module.split(".")[0] != "ai":
            yield Finding("sdk", sdk, module, path, line_of(match.start()))
    for match in _JS_IMPORT.finditer(text):
        sdk = _SDK_IMPORTS.get(match.group(1))
        if sdk:
            yield Finding("sdk", sdk, match.group(1), path, line_of(match.start()))
    for match in _MODEL.finditer(text):
        model = match.group(1)
        prefix, slash, _ = model.partition("/")
        vendor = prefix if slash else vendor_of_name(model)
        yield Finding("model", model, vendor or "", path, line_of(match.start()))
    for match in _KEY_VARIABLE.finditer(text):
        yield Finding("key_variable", match.group(1), "", path, line_of(match.start()))
    for match in _LITERAL_KEY.finditer(text):
        credential = credential_of({b"authorization": b"Bearer " + match.group(1).encode()}, None, None)
        if credential is not None:
            yield Finding(
                "literal_key", credential.fingerprint, credential.kind, path, line_of(match.start())
            )
    for match in _URL.finditer(text):
        parts = urlsplit(match.group(0))
        host = parts.hostname or ""
        kind = kind_of(parts.scheme, host, parts.port, parts.path, ())
        if kind:
            yield Finding("endpoint", f"{parts.scheme}://{parts.netloc}", kind, path, line_of(match.start()))
