"""The scan on five codebases shaped like real ones: each unit's verdict and findings as written here.

python-service   a FastAPI service on OpenAI and Anthropic keys (tests and README around it)
nextjs-gateway   a Next.js app on the Vercel AI SDK and its gateway (gpt-tokenizer, groq.png, a
                 minified widget, .env.local with a gateway key and non-AI secrets)
monorepo         a web app on direct keys, a worker on the Vercel gateway, a search service on
                 Groq and OpenRouter, a shared package without AI, a root without code
notebooks-lab    notebooks with a Gemini key in a cell, `%env` Mistral key, a broken notebook
library          a library with docs, recorded cassettes, tests, vendored and generated code
"""

from __future__ import annotations

from pathlib import Path

import pytest

from modelmeter.instrument.keys import fingerprint
from modelmeter.scan import ScanResult, scan_tree

# corpus -> unit -> what its application code must show
EXPECTED: dict[str, dict[str, dict[str, object]]] = {
    "python-service": {
        ".": {
            "name": "support-triage",
            "verdict": "direct keys",
            "gateways": [],
            "direct": ["anthropic", "openai"],
            "sdks": ["anthropic", "openai"],
            "models": ["claude-sonnet-4-5-20250929", "gpt-4.1-mini"],
            "credentials": ["ANTHROPIC_API_KEY", "OPENAI_API_KEY"],
            "other_secrets": 3,  # SESSION_SECRET, DATABASE_URL, SENTRY_DSN: counted, not AI keys
        },
    },
    "nextjs-gateway": {
        ".": {
            "name": "chat-with-docs",
            "verdict": "gateway",
            "gateways": ["vercel"],
            "direct": [],
            "sdks": ["@ai-sdk/gateway", "vercel-ai-sdk"],  # not groq (groq.png), not gpt-tokenizer
            "models": [
                "anthropic/claude-sonnet-4.6",
                "google/gemini-2.5-pro",
                "openai/gpt-5",
                "openai/gpt-5-mini",
            ],
            "credentials": ["AI_GATEWAY_API_KEY"],
            "literal_keys": 1,
            "env_files": [".env.local"],
            "other_secrets": 3,  # AUTH_SECRET, BLOB_READ_WRITE_TOKEN, DATABASE_URL
        },
    },
    "monorepo": {
        ".": {"name": "acme-monorepo", "verdict": "no AI calls found"},
        "apps/web": {
            "name": "@acme/web",
            "verdict": "direct keys",
            "direct": ["openai"],
            "sdks": ["@ai-sdk/openai", "vercel-ai-sdk"],
            "models": ["gpt-4.1"],
            "credentials": ["OPENAI_API_KEY"],
        },
        "packages/shared": {"name": "@acme/shared", "verdict": "no AI calls found"},
        "services/search": {
            "name": "search",
            "verdict": "mixed",
            "gateways": ["openrouter"],
            "direct": ["groq"],
            "sdks": ["groq", "openai"],
            "models": ["deepseek/deepseek-chat", "llama-3.1-8b-instant"],
            "endpoints": ["https://openrouter.ai"],
            "credentials": ["GROQ_API_KEY", "OPENROUTER_API_KEY"],
        },
        "services/worker": {
            "name": "acme-worker",
            "verdict": "gateway",
            "gateways": ["vercel"],
            "direct": [],
            "sdks": ["openai"],
            "models": ["anthropic/claude-haiku-4.5", "openai/gpt-5-nano"],
            "endpoints": ["https://ai-gateway.vercel.sh"],
            "credentials": ["AI_GATEWAY_API_KEY"],
        },
    },
    "notebooks-lab": {
        ".": {
            "verdict": "direct keys",
            "direct": ["anthropic", "google", "mistral"],
            "sdks": ["google-genai", "langchain-anthropic", "mistralai"],
            # not gpt-4o (a markdown cell) nor claude-3-opus (a cell's output)
            "models": ["claude-3-5-haiku-latest", "gemini-2.5-flash", "mistral-small-latest"],
            "credentials": ["MISTRAL_API_KEY"],
            "literal_keys": 2,
        },
    },
    "library": {
        ".": {
            "name": "acme-llm-kit",
            "verdict": "direct keys",
            "direct": ["anthropic", "openai"],  # anthropic: an optional dependency
            "sdks": ["anthropic", "litellm", "openai"],
            "models": ["gpt-4o-mini"],  # docs, cassettes, tests and generated code counted apart
            "credentials": [],
            "outside_app": {"docs": 19, "fixture": 6, "generated": 1, "test": 2, "vendored": 2},
        },
    },
}


@pytest.fixture(scope="module")
def scans() -> dict[str, ScanResult]:
    corpus = Path(__file__).parent / "corpus"
    return {name: scan_tree(corpus / name) for name in EXPECTED}


@pytest.mark.parametrize("codebase", sorted(EXPECTED))
def test_each_unit_has_the_written_down_verdict_and_findings(
    scans: dict[str, ScanResult], codebase: str
) -> None:
    result = scans[codebase]
    units = {unit.path: unit for unit in result.units}
    assert sorted(units) == sorted(EXPECTED[codebase])
    for path, expected in EXPECTED[codebase].items():
        unit = units[path]
        for field, value in expected.items():
            actual = sorted(unit.direct) if field == "direct" else getattr(unit, field)
            assert actual == value, f"{codebase} {path}: {field}"


def test_first_place_points_at_application_code(scans: dict[str, ScanResult]) -> None:
    places = scans["library"].first_places
    assert places[(".", "sdk", "openai")].path == "src/acme_llm_kit/client.py"
    assert places[(".", "model", "gpt-4o-mini")].path == "src/acme_llm_kit/client.py"
    # seen only outside the application: its first place says so
    assert places[(".", "sdk", "anthropic")].path == "pyproject.toml"
    assert places[(".", "model", "gpt-4o")].category in {"docs", "generated", "test", "fixture"}


def test_noise_is_counted_apart_by_category(scans: dict[str, ScanResult]) -> None:
    library = scans["library"]
    assert library.files_by_category == {
        "app": 3,
        "docs": 3,
        "fixture": 2,
        "generated": 1,
        "test": 1,
        "vendored": 1,
    }
    vendored = [f for f in library.findings if f.category == "vendored"]
    assert {f.value for f in vendored} == {"anthropic", "claude-3-opus-20240229"}


def test_known_false_positives_are_not_findings(scans: dict[str, ScanResult]) -> None:
    values = {f.value for f in scans["nextjs-gateway"].findings}
    assert not values & {"groq", "gpt-tokenizer", "groq.png"}
    assert scans["nextjs-gateway"].skipped == {
        "not a source or config file": 1,
        "minified or one-line data": 1,
    }


def test_literal_keys_are_fingerprints_with_kinds_and_places(scans: dict[str, ScanResult]) -> None:
    keys = {(k.value, k.detail, k.path, k.line) for k in scans["notebooks-lab"].literal_keys}
    assert keys == {
        (fingerprint("AIzaFAKEnotebookKEY0123456789abcdefghij"), "google-api-key",
         "notebooks/01_explore_gemini.ipynb", 2),
        (fingerprint("FAKEmistralNotebook0123456789ab"), "mistral-key",
         "notebooks/02_mistral_vs_claude.ipynb", 1),
    }  # fmt: skip
    gateway_key = scans["nextjs-gateway"].literal_keys[0]
    assert (gateway_key.value, gateway_key.detail) == (
        fingerprint("vck_FAKEnextjsGateway0123456789abcdefGHIJ"),
        "vercel-gateway-key",
    )
    env_file = next(f for f in scans["nextjs-gateway"].findings if f.kind == "env_file")
    assert env_file.detail == "storing gateway keys: vercel-gateway-key"


def test_a_broken_notebook_is_read_as_text_and_counted(scans: dict[str, ScanResult]) -> None:
    assert scans["notebooks-lab"].notes == {"notebook that is not valid JSON (read as text)": 1}
