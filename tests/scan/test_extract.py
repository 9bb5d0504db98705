"""What one file's text yields: SDK imports in Python and JS/TS, gateway model ids, credentials apart
from other secrets, literal keys as fingerprints, and the known look-alikes left out."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelmeter.instrument.keys import fingerprint
from modelmeter.scan.extract import findings_in


def _found(text: str, name: str) -> set[tuple[str, str, str | None, str | None]]:
    return {(f.kind, f.value, f.vendor, f.route) for f in findings_in(text, Path(name))}


@pytest.mark.parametrize(
    ("source", "sdk", "vendor"),
    [
        ("from google import genai\n", "google-genai", "google"),
        ("import google.generativeai as genai\n", "google-generativeai", "google"),
        ("from google.genai import types\n", "google-genai", "google"),
        ("from langchain_openai import ChatOpenAI\n", "langchain-openai", "openai"),
        ("from langchain_google_genai import ChatGoogleGenerativeAI\n", "langchain-google-genai", "google"),
        ("import litellm\n", "litellm", None),
        ("from mistralai import Mistral\n", "mistralai", "mistral"),
        ("from cohere import ClientV2\n", "cohere", "cohere"),
    ],
)
def test_python_imports_name_the_sdk(source: str, sdk: str, vendor: str | None) -> None:
    assert ("sdk", sdk, vendor, None) in _found(source, "app.py")


@pytest.mark.parametrize(
    ("source", "sdk", "vendor", "route"),
    [
        ("import { GoogleGenerativeAI as G } from '@google/generative-ai';", "@google/generative-ai",
         "google", None),
        ("import { GoogleGenAI } from \"@google/genai\";", "@google/genai", "google", None),
        ("const Groq = require('groq-sdk');", "groq-sdk", "groq", None),
        ("import { CohereClientV2 } from 'cohere-ai';", "cohere-ai", "cohere", None),
        ("const { Mistral } = await import('@mistralai/mistralai');", "@mistralai/mistralai",
         "mistral", None),
        ("import { createGateway } from '@ai-sdk/gateway';", "@ai-sdk/gateway", "vercel", "gateway"),
        ("import { createOpenRouter } from '@openrouter/ai-sdk-provider';", "@openrouter/ai-sdk-provider",
         "openrouter", "gateway"),
        ("import { streamUI } from 'ai/rsc';", "vercel-ai-sdk", None, None),
        ("import { useChat } from '@ai-sdk/react';", "vercel-ai-sdk", None, None),
    ],
)  # fmt: skip
def test_js_imports_name_the_sdk(source: str, sdk: str, vendor: str | None, route: str | None) -> None:
    assert ("sdk", sdk, vendor, route) in _found(source, "route.ts")


def test_gateway_ids_and_plain_strings_given_to_the_ai_sdk_go_through_the_gateway() -> None:
    source = (
        "import { generateText } from 'ai';\n"
        "import { gateway } from '@ai-sdk/gateway';\n"
        "generateText({ model: gateway('xai/grok-4') });\n"
        "generateText({ model: 'anthropic/claude-sonnet-4.6' });\n"
        "generateText({ model: gateway.languageModel('meta/llama-4-scout') });\n"
    )
    models = {(v, vendor, route) for kind, v, vendor, route in _found(source, "a.ts") if kind == "model"}
    assert models == {
        ("xai/grok-4", "xai", "gateway"),
        ("anthropic/claude-sonnet-4.6", "anthropic", "gateway"),
        ("meta/llama-4-scout", "meta", "gateway"),
    }
    # without the AI SDK, a provider/model string says nothing about the route
    assert ("model", "anthropic/claude-sonnet-4.6", "anthropic", None) in _found(
        "m = 'anthropic/claude-sonnet-4.6'\n", "a.py"
    )


def test_look_alikes_are_not_models_or_sdks() -> None:
    source = (
        "import { encode } from 'gpt-tokenizer';\n"
        "import groqLogo from './groq.png';\n"
        "const a = 'groq.png', b = 'claude-code', c = 'llama-index', d = 'command-line', e = 'gpt-4o.svg';\n"
        "const f = 'google/protobuf';\n"
    )
    assert _found(source, "page.tsx") == set()


def test_ai_credentials_are_told_apart_from_other_secrets() -> None:
    source = (
        "OPENAI_API_KEY NEXT_PUBLIC_ANTHROPIC_API_KEY GEMINI_API_KEY GOOGLE_GENERATIVE_AI_API_KEY\n"
        "AI_GATEWAY_API_KEY VERCEL_OIDC_TOKEN OPENROUTER_API_KEY\n"
        "AUTH_SECRET BLOB_READ_WRITE_TOKEN DATABASE_URL STRIPE_SECRET_KEY GITHUB_TOKEN\n"
        "MY_KEYBOARD myOPENAI_API_KEY\n"
    )
    found = findings_in(source, Path("settings.py"))
    credentials = {(f.value, f.vendor, f.route, f.detail) for f in found if f.kind == "credential"}
    assert credentials == {
        ("OPENAI_API_KEY", "openai", "direct", "openai-key"),
        ("NEXT_PUBLIC_ANTHROPIC_API_KEY", "anthropic", "direct", "anthropic-key"),
        ("GEMINI_API_KEY", "google", "direct", "google-api-key"),
        ("GOOGLE_GENERATIVE_AI_API_KEY", "google", "direct", "google-api-key"),
        ("AI_GATEWAY_API_KEY", "vercel", "gateway", "vercel-gateway-key"),
        ("VERCEL_OIDC_TOKEN", "vercel", "gateway", "vercel-oidc"),
        ("OPENROUTER_API_KEY", "openrouter", "gateway", "openrouter-key"),
    }
    others = {f.value for f in found if f.kind == "other_secret"}
    assert others == {
        "AUTH_SECRET",
        "BLOB_READ_WRITE_TOKEN",
        "DATABASE_URL",
        "STRIPE_SECRET_KEY",
        "GITHUB_TOKEN",
    }


def test_literal_keys_by_shape_and_by_name_are_fingerprints() -> None:
    source = (
        'client = Anthropic(api_key="sk-ant-api03-FAKEliteral0123456789abcdefgh")\n'
        "MISTRAL_API_KEY = 'FAKEmistralLiteral0123456789abcd'\n"
        "firebase = { apiKey: 'AIzaFAKEfirebase0123456789abcdefghijklm' }\n"
        "OPENAI_API_KEY=sk-proj-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
    )
    found = findings_in(source, Path("app.py"))
    keys = {(f.value, f.detail, f.line) for f in found if f.kind == "literal_key"}
    assert keys == {
        (fingerprint("sk-ant-api03-FAKEliteral0123456789abcdefgh"), "anthropic-key", 1),
        (fingerprint("FAKEmistralLiteral0123456789abcd"), "mistral-key", 2),
    }
    assert "Google API key (not near a Gemini name)" in {f.value for f in found if f.kind == "other_secret"}
    assert not any("FAKE" in f.value for f in found)


def test_an_env_file_holding_provider_keys_is_flagged() -> None:
    provider = findings_in("OPENAI_API_KEY=sk-proj-FAKEenv0123456789abcdefghij\n", Path(".env.production"))
    [flag] = [f for f in provider if f.kind == "env_file"]
    assert (flag.value, flag.route, flag.detail) == (
        ".env.production",
        "direct",
        "still storing provider API keys: openai-project-key",
    )
    empty = findings_in("OPENAI_API_KEY=\nANTHROPIC_API_KEY=your-key-here\n", Path(".env.example"))
    assert not [f for f in empty if f.kind in ("env_file", "literal_key")]


def test_workflow_tags_named_in_code_are_found() -> None:
    source = (
        "with modelmeter.tag(workflow='support-triage'):\n"
        "ENV MODELMETER_WORKFLOW=nightly-enrich\n"
        "modelmeter run --workflow meeting-notes -- python app.py\n"
    )
    tags = {f.value for f in findings_in(source, Path("Dockerfile")) if f.kind == "workflow_tag"}
    assert tags == {"support-triage", "nightly-enrich", "meeting-notes"}
