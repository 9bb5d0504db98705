"""What the scanner recognises: SDK package names, credential variable names and model-name shapes.

These tables are scan-specific (the runtime never sees a package or an environment variable name);
hosts and gateways come from `modelmeter.vendors`, key shapes from `instrument/keys.py`.
Entries are exact names, never substrings, so `gpt-tokenizer` is not a model and `groq.png` is not
the groq SDK.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from modelmeter import vendors
from modelmeter.vendors import GATEWAYS

# SDK families as the unit verdict reads them
VERCEL_AI_SDK = "vercel-ai-sdk"


@dataclass(frozen=True, slots=True)
class Sdk:
    name: str  # as the report shows it
    vendor: str | None  # the model vendor it talks to directly, None when it can go anywhere
    gateway: str | None = None  # the gateway it always goes through


def _sdks(rows: dict[str, tuple[str, str | None, str | None]]) -> dict[str, Sdk]:
    return {package: Sdk(*spec) for package, spec in rows.items()}


# Python top-level module (or dotted prefix) -> SDK
PYTHON_SDKS = _sdks(
    {
        "openai": ("openai", "openai", None),
        "anthropic": ("anthropic", "anthropic", None),
        "google.genai": ("google-genai", "google", None),
        "google.generativeai": ("google-generativeai", "google", None),
        "vertexai": ("vertexai", "google", None),
        "mistralai": ("mistralai", "mistral", None),
        "groq": ("groq", "groq", None),
        "cohere": ("cohere", "cohere", None),
        "together": ("together", "together", None),
        "litellm": ("litellm", None, None),
        "langchain_openai": ("langchain-openai", "openai", None),
        "langchain_anthropic": ("langchain-anthropic", "anthropic", None),
        "langchain_google_genai": ("langchain-google-genai", "google", None),
        "langchain_google_vertexai": ("langchain-google-vertexai", "google", None),
        "langchain_mistralai": ("langchain-mistralai", "mistral", None),
        "langchain_groq": ("langchain-groq", "groq", None),
        "langchain_cohere": ("langchain-cohere", "cohere", None),
        "langchain_aws": ("langchain-aws", "bedrock", None),
        "langchain_xai": ("langchain-xai", "xai", None),
        "langchain_deepseek": ("langchain-deepseek", "deepseek", None),
    }
)
# PyPI distribution name (as in pyproject / requirements) -> Python module of PYTHON_SDKS
PYTHON_DISTRIBUTIONS = {
    "google-genai": "google.genai",
    "google-generativeai": "google.generativeai",
    "google-cloud-aiplatform": "vertexai",
    **{module.replace("_", "-"): module for module in PYTHON_SDKS if "." not in module},
}

# npm package -> SDK
JS_SDKS = _sdks(
    {
        "openai": ("openai", "openai", None),
        "@anthropic-ai/sdk": ("@anthropic-ai/sdk", "anthropic", None),
        "@google/genai": ("@google/genai", "google", None),
        "@google/generative-ai": ("@google/generative-ai", "google", None),
        "@mistralai/mistralai": ("@mistralai/mistralai", "mistral", None),
        "groq-sdk": ("groq-sdk", "groq", None),
        "cohere-ai": ("cohere-ai", "cohere", None),
        "ai": (VERCEL_AI_SDK, None, None),
        "@ai-sdk/gateway": ("@ai-sdk/gateway", None, "vercel"),
        "@ai-sdk/openai": ("@ai-sdk/openai", "openai", None),
        "@ai-sdk/anthropic": ("@ai-sdk/anthropic", "anthropic", None),
        "@ai-sdk/google": ("@ai-sdk/google", "google", None),
        "@ai-sdk/google-vertex": ("@ai-sdk/google-vertex", "google", None),
        "@ai-sdk/mistral": ("@ai-sdk/mistral", "mistral", None),
        "@ai-sdk/groq": ("@ai-sdk/groq", "groq", None),
        "@ai-sdk/cohere": ("@ai-sdk/cohere", "cohere", None),
        "@ai-sdk/xai": ("@ai-sdk/xai", "xai", None),
        "@ai-sdk/deepseek": ("@ai-sdk/deepseek", "deepseek", None),
        "@ai-sdk/azure": ("@ai-sdk/azure", "azure", None),
        "@ai-sdk/amazon-bedrock": ("@ai-sdk/amazon-bedrock", "bedrock", None),
        "@ai-sdk/openai-compatible": ("@ai-sdk/openai-compatible", None, None),
        "@openrouter/ai-sdk-provider": ("@openrouter/ai-sdk-provider", None, "openrouter"),
        "@langchain/openai": ("@langchain/openai", "openai", None),
        "@langchain/anthropic": ("@langchain/anthropic", "anthropic", None),
        "@langchain/google-genai": ("@langchain/google-genai", "google", None),
        "@langchain/mistralai": ("@langchain/mistralai", "mistral", None),
        "@langchain/groq": ("@langchain/groq", "groq", None),
        "@langchain/cohere": ("@langchain/cohere", "cohere", None),
    }
)
# UI-only parts of the Vercel AI SDK: the SDK, but no provider behind them
JS_SDK_PARTS = {"@ai-sdk/react", "@ai-sdk/ui-utils", "@ai-sdk/rsc", "@ai-sdk/svelte", "@ai-sdk/vue"}


@dataclass(frozen=True, slots=True)
class CredentialName:
    """What an environment variable holds: a key for `vendor` (a model vendor or a gateway)."""

    vendor: str
    kind: str  # as instrument/keys.py names kinds

    @property
    def is_gateway(self) -> bool:
        return self.vendor in GATEWAYS


# Environment variable -> credential. A longer name ending with one of these (`MY_OPENAI_API_KEY`,
# `NEXT_PUBLIC_OPENAI_API_KEY`) is the same credential.
AI_CREDENTIALS: dict[str, CredentialName] = {
    name: CredentialName(vendor, kind)
    for vendor, kind, names in (
        ("openai", "openai-key", ("OPENAI_API_KEY",)),
        ("azure", "azure-openai-key", ("AZURE_OPENAI_API_KEY", "AZURE_OPENAI_KEY")),
        ("anthropic", "anthropic-key", ("ANTHROPIC_API_KEY", "CLAUDE_API_KEY")),
        (
            "google",
            "google-api-key",
            ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GENERATIVE_AI_API_KEY", "GOOGLE_AI_API_KEY"),
        ),
        ("mistral", "mistral-key", ("MISTRAL_API_KEY",)),
        ("groq", "groq-key", ("GROQ_API_KEY",)),
        ("cohere", "cohere-key", ("COHERE_API_KEY", "CO_API_KEY")),
        ("xai", "xai-key", ("XAI_API_KEY", "GROK_API_KEY")),
        ("deepseek", "deepseek-key", ("DEEPSEEK_API_KEY",)),
        ("together", "together-key", ("TOGETHER_API_KEY", "TOGETHERAI_API_KEY")),
        ("fireworks", "fireworks-key", ("FIREWORKS_API_KEY",)),
        ("perplexity", "perplexity-key", ("PERPLEXITY_API_KEY", "PPLX_API_KEY")),
        ("openrouter", "openrouter-key", ("OPENROUTER_API_KEY",)),
        ("vercel", "vercel-gateway-key", ("AI_GATEWAY_API_KEY", "VERCEL_AI_GATEWAY_API_KEY")),
        ("vercel", "vercel-oidc", ("VERCEL_OIDC_TOKEN",)),
        ("portkey", "portkey-key", ("PORTKEY_API_KEY",)),
        ("litellm", "litellm-key", ("LITELLM_API_KEY", "LITELLM_MASTER_KEY", "LITELLM_PROXY_API_KEY")),
        ("helicone", "helicone-key", ("HELICONE_API_KEY",)),
        ("cloudflare", "cloudflare-gateway-token", ("CF_AIG_TOKEN", "CLOUDFLARE_AI_GATEWAY_TOKEN")),
    )
    for name in names
}
# How a secret's variable name ends (every AI credential above ends in _KEY or _TOKEN): names that
# end so and are not AI credentials are counted as other secrets, never listed as AI keys.
SECRET_NAME_END = re.compile(
    r"(?:_KEY|_TOKEN|_SECRET|_PASSWORD|_PASSWD|_DSN|DATABASE_URL|_CONNECTION_STRING)(?![A-Za-z0-9_])"
)


@lru_cache(maxsize=4096)
def credential_named(name: str) -> CredentialName | None:
    """The AI credential an environment variable name stands for, or None."""
    known = AI_CREDENTIALS.get(name)
    if known is not None:
        return known
    for suffix, credential in AI_CREDENTIALS.items():
        if name.endswith("_" + suffix):
            return credential
    return None


# The `provider/` of a `provider/model` string: vendors as gateways and LiteLLM name them
MODEL_VENDORS = frozenset(
    {
        *vendors.APIS,
        *vendors.MODEL_PREFIX_VENDORS,
        *(vendor for _, vendor in vendors.MODEL_NAME_VENDORS),
        "amazon",
    }
)
# A model name: a known family followed by a version-like part (so `claude-code`, `gpt-tokenizer`,
# `llama-index` and `command-line` are not models)
_FAMILY = (
    r"gpt-(?:\d[\w.:-]*|image[\w.:-]*|oss[\w.:-]*|realtime[\w.:-]*|audio[\w.:-]*)"
    r"|o[134](?:-(?:mini|pro|preview|deep-research)[\w.:-]*)?"
    r"|chatgpt-4o[\w.:-]*|text-embedding-(?:3|ada|004)[\w.:-]*|dall-e-\d"
    r"|claude-(?:\d|opus|sonnet|haiku|instant)[\w.:@-]*"
    r"|gemini-(?:\d|pro|flash|exp|ultra)[\w.:@-]*|gemma-?\d[\w.:-]*|imagen-\d[\w.:-]*"
    r"|(?:open-)?mistral-(?:tiny|small|medium|large|nemo|saba|embed|\d)[\w.:-]*"
    r"|(?:open-)?mixtral-\d[\w.:-]*|(?:codestral|magistral|ministral|pixtral|devstral)-[\w.:-]+"
    r"|llama-?\d[\w.:-]*|meta-llama-\d[\w.:-]*"
    r"|grok-(?:\d|beta|vision|code)[\w.:-]*|deepseek-(?:chat|reasoner|coder|r\d|v\d)[\w.:-]*"
    r"|command-(?:r|a|light|nightly|xlarge)[\w.:-]*|embed-(?:english|multilingual|v\d)[\w.:-]*"
    r"|qwen[\d.-][\w.:-]*|kimi-k\d[\w.:-]*"
)
MODEL_STRING = re.compile(
    rf"""(?P<q>['"`])(?P<model>(?:(?P<vendor>[a-z][a-z0-9-]{{1,20}})/)?(?:{_FAMILY}))(?P=q)""", re.I
)
# Not a model: file names and package-like suffixes that share a family's prefix
NOT_A_MODEL = re.compile(
    r"\.(?:png|jpe?g|gif|svg|webp|ico|js|mjs|cjs|ts|tsx|py|json|md|css|html|ya?ml|txt)$"
    r"|-(?:tokenizer|encoder|sdk|cli|client|api|js|py)$",
    re.I,
)
