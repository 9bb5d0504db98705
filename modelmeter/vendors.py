"""The vendor vocabulary: every name a vendor, platform, gateway or price table goes by, in one place.

One model call is named several ways, and each table below translates between two of them:
- a *kind*: what a host or a `MODELMETER_ENDPOINTS` entry says the endpoint is, a vendor's own API
  (`openai`, `azure`, `vertex`, ...) or a gateway (`vercel`, `openrouter`, `litellm`, ...);
- the *model vendor* in gateway naming, the `provider` column (`openai`, `google`, `xai`, `meta`, ...);
- the *platform* that served the call, the `platform` column (`azure`, `aws.bedrock`, `gcp.vertex_ai`, ...);
- the *convention name*, `gen_ai.provider.name` (`gcp.gemini`, `mistral_ai`, `x_ai`, ...), and the other
  spellings foreign instrumentations write;
- the *genai-prices provider id* (`google`, `aws`, `x-ai`, ...).

Data only: routes.py classifies a request with it, naming.py names models, call.py and the foreign
mappings (ingest/normalise) name providers and platforms, pricing.py finds a price.
"""

from __future__ import annotations

from typing import NamedTuple

# --- gateways -------------------------------------------------------------------------------------

# The gateways the `gateway` column names when they are recognised (any other configured name is kept too).
GATEWAYS = frozenset({"vercel", "openrouter", "litellm", "portkey", "cloudflare", "helicone"})
# Gateways whose own price list genai-prices carries: their calls are priced from it first.
GATEWAYS_WITH_OWN_PRICES = frozenset({"openrouter"})


# --- vendors' own APIs (direct routes) ------------------------------------------------------------


class Api(NamedTuple):
    """A vendor's own API: who serves it, its convention name and whose models it serves."""

    platform: str
    convention_name: str
    model_vendor: str | None  # the vendor to assume when a model's name does not say; None: many vendors


APIS: dict[str, Api] = {
    "openai": Api("openai", "openai", "openai"),
    "azure": Api("azure", "azure.ai.openai", "openai"),
    "anthropic": Api("anthropic", "anthropic", "anthropic"),
    "gemini": Api("gcp.gemini", "gcp.gemini", "google"),
    "google": Api("gcp.gemini", "gcp.gemini", "google"),
    "vertex": Api("gcp.vertex_ai", "gcp.vertex_ai", "google"),
    "bedrock": Api("aws.bedrock", "aws.bedrock", None),
    "mistral": Api("mistral", "mistral_ai", "mistral"),
    "groq": Api("groq", "groq", None),
    "cohere": Api("cohere", "cohere", "cohere"),
    "deepseek": Api("deepseek", "deepseek", "deepseek"),
    "xai": Api("xai", "x_ai", "xai"),
    "together": Api("together", "together", None),
    "fireworks": Api("fireworks", "fireworks", None),
    "perplexity": Api("perplexity", "perplexity", None),
}

# The convention name of a call on an OpenAI-compatible host nobody knows, by wire family.
FAMILY_CONVENTION_NAMES = {
    "anthropic.messages": "anthropic",
    "gemini": "gcp.gemini",
    "cohere.v2": "cohere",
    "mistral.chat": "mistral_ai",
}


def convention_name(vendor: str) -> str:
    """`gen_ai.provider.name` for a model vendor (a gateway call is named after its model's vendor)."""
    api = APIS.get(vendor)
    return api.convention_name if api is not None and api.model_vendor == vendor else vendor


# --- hosts and headers ----------------------------------------------------------------------------

# public host -> kind
HOSTS = {
    "api.openai.com": "openai",
    "api.anthropic.com": "anthropic",
    "generativelanguage.googleapis.com": "gemini",
    "aiplatform.googleapis.com": "vertex",
    "api.mistral.ai": "mistral",
    "api.groq.com": "groq",
    "api.cohere.com": "cohere",
    "api.cohere.ai": "cohere",
    "api.deepseek.com": "deepseek",
    "api.x.ai": "xai",
    "api.together.xyz": "together",
    "api.fireworks.ai": "fireworks",
    "api.perplexity.ai": "perplexity",
    "ai-gateway.vercel.sh": "vercel",
    "openrouter.ai": "openrouter",
    "gateway.ai.cloudflare.com": "cloudflare",
    "api.portkey.ai": "portkey",
}
# host suffix -> kind (regional and per-customer hosts)
HOST_SUFFIXES = (
    (".openai.azure.com", "azure"),
    (".cognitiveservices.azure.com", "azure"),
    (".services.ai.azure.com", "azure"),
    ("-aiplatform.googleapis.com", "vertex"),
    (".amazonaws.com", "bedrock"),
    (".helicone.ai", "helicone"),
)
# a credential's kind (instrument/keys.py) -> the gateway whose own credential it is
GATEWAY_CREDENTIALS = {
    "vercel-gateway-key": "vercel",
    "vercel-oidc": "vercel",
    "vercel-key": "vercel",
    "openrouter-key": "openrouter",
    "portkey-key": "portkey",
    "cloudflare-gateway-token": "cloudflare",
}
# response header prefix (lower case) -> the gateway that sends it
HEADER_GATEWAYS = (
    (b"x-litellm-", "litellm"),
    (b"cf-aig-", "cloudflare"),
    (b"x-portkey-", "portkey"),
    (b"helicone-", "helicone"),
)


# --- model names ----------------------------------------------------------------------------------

# a gateway's `prefix/` of a model id -> model vendor, where the two differ
MODEL_PREFIX_VENDORS = {
    "meta-llama": "meta",
    "mistralai": "mistral",
    "x-ai": "xai",
    "qwen": "alibaba",
    "gemini": "google",
}
# how a bare model name starts -> its vendor
MODEL_NAME_VENDORS: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        (
            "gpt",
            "o1",
            "o3",
            "o4",
            "text-embedding",
            "dall-e",
            "chatgpt",
            "davinci",
            "whisper",
            "tts",
            "codex",
        ),
        "openai",
    ),
    (("claude",), "anthropic"),
    (("gemini", "gemma", "imagen", "text-embedding-004", "embedding-001"), "google"),
    (
        ("mistral", "mixtral", "magistral", "codestral", "ministral", "pixtral", "devstral", "open-mistral"),
        "mistral",
    ),
    (("llama", "meta-llama"), "meta"),
    (("command", "embed-", "rerank", "c4ai"), "cohere"),
    (("grok",), "xai"),
    (("deepseek",), "deepseek"),
    (("qwen",), "alibaba"),
    (("kimi", "moonshot"), "moonshotai"),
)


# --- spellings of other instrumentations ----------------------------------------------------------

# A provider as foreign spans spell it (conventions old and new, OpenLLMetry, OpenLIT, pydantic-ai,
# OpenInference, the AI SDK's provider ids) -> (model vendor, platform that served it). A vendor of None
# follows from the model name (a platform such as Bedrock or Groq serves many vendors).
FOREIGN_PROVIDERS: dict[str, tuple[str | None, str | None]] = {
    "openai": ("openai", "openai"),
    "azure.ai.openai": ("openai", "azure"),
    "az.ai.openai": ("openai", "azure"),
    "azure": ("openai", "azure"),
    "azure.ai.inference": (None, "azure"),
    "az.ai.inference": (None, "azure"),
    "anthropic": ("anthropic", "anthropic"),
    "gcp.gemini": ("google", "gcp.gemini"),
    "gemini": ("google", "gcp.gemini"),
    "google": ("google", "gcp.gemini"),
    "google-gla": ("google", "gcp.gemini"),
    "google.generative-ai": ("google", "gcp.gemini"),
    "google.ai.studio": ("google", "gcp.gemini"),
    "gcp.gen_ai": ("google", None),
    "gcp.vertex_ai": ("google", "gcp.vertex_ai"),
    "vertex_ai": ("google", "gcp.vertex_ai"),
    "vertexai": ("google", "gcp.vertex_ai"),
    "google-vertex": ("google", "gcp.vertex_ai"),
    "vertex": ("google", "gcp.vertex_ai"),
    "google.vertex": ("google", "gcp.vertex_ai"),
    "aws.bedrock": (None, "aws.bedrock"),
    "bedrock": (None, "aws.bedrock"),
    "aws": (None, "aws.bedrock"),
    "amazon-bedrock": (None, "aws.bedrock"),
    "mistral_ai": ("mistral", "mistral"),
    "mistral": ("mistral", "mistral"),
    "mistralai": ("mistral", "mistral"),
    "x_ai": ("xai", "xai"),
    "xai": ("xai", "xai"),
    "deepseek": ("deepseek", "deepseek"),
    "cohere": ("cohere", "cohere"),
    "perplexity": ("perplexity", "perplexity"),
    "moonshot_ai": ("moonshotai", "moonshotai"),
    "moonshotai": ("moonshotai", "moonshotai"),
    "groq": (None, "groq"),
    "together": (None, "together"),
    "togetherai": (None, "together"),
    "fireworks": (None, "fireworks"),
    "cerebras": (None, "cerebras"),
    "ollama": (None, "ollama"),
}
# A provider value that names a gateway rather than a vendor -> our gateway name.
FOREIGN_GATEWAYS: dict[str, str] = {"gateway": "vercel", **{name: name for name in GATEWAYS}}


# --- genai-prices ---------------------------------------------------------------------------------

# A model vendor or platform (ours or a source's spelling) -> genai-prices provider id, where they differ.
GENAI_PRICES_IDS = {
    "gemini": "google",
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",
    "gcp.gen_ai": "google",
    "vertex": "google",
    "azure.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "aws.bedrock": "aws",
    "bedrock": "aws",
    "mistral_ai": "mistral",
    "xai": "x-ai",
    "x_ai": "x-ai",
    "moonshot": "moonshotai",
    "moonshot_ai": "moonshotai",
}


def genai_prices_id(name: str | None) -> str | None:
    """The genai-prices provider id for a vendor or platform name (the name itself when they agree)."""
    return GENAI_PRICES_IDS.get(name, name) if name else None
