"""Where a request goes: the API vendor (direct) or the gateway, from host, configuration and headers.

Known public hosts are in two tables. `MODELMETER_ENDPOINTS` (`URL=KIND,...`) classifies anything
else: a self-hosted gateway, an Azure custom domain, a local mock. KIND is a vendor from
`VENDOR_PLATFORM` (a direct route) or a gateway name (any other word, e.g. `vercel`, `litellm`, or
your own). A gateway that is not recognised by host still gives itself away in response headers
(`x-litellm-*`, `cf-aig-*`, `x-portkey-*`, `helicone-*`) or in the credential the request carries (a
Vercel AI Gateway `vck_` key or OIDC token, an OpenRouter key): `route_of` weighs the evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

# vendor kind -> (platform: who serves it, gen_ai.provider.name value)
VENDOR_PLATFORM: dict[str, tuple[str, str]] = {
    "openai": ("openai", "openai"),
    "azure": ("azure", "azure.ai.openai"),
    "anthropic": ("anthropic", "anthropic"),
    "gemini": ("gcp.gemini", "gcp.gemini"),
    "google": ("gcp.gemini", "gcp.gemini"),
    "vertex": ("gcp.vertex_ai", "gcp.vertex_ai"),
    "bedrock": ("aws.bedrock", "aws.bedrock"),
    "mistral": ("mistral", "mistral_ai"),
    "groq": ("groq", "groq"),
    "cohere": ("cohere", "cohere"),
    "deepseek": ("deepseek", "deepseek"),
    "xai": ("xai", "x_ai"),
    "together": ("together", "together"),
    "fireworks": ("fireworks", "fireworks"),
    "perplexity": ("perplexity", "perplexity"),
}
# model vendor (gateway naming) -> gen_ai.provider.name value, for calls through a gateway
SEMCONV_PROVIDER = {"google": "gcp.gemini", "mistral": "mistral_ai", "xai": "x_ai"}

_EXACT_HOSTS = {
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
_HOST_SUFFIXES = (
    (".openai.azure.com", "azure"),
    (".cognitiveservices.azure.com", "azure"),
    (".services.ai.azure.com", "azure"),
    ("-aiplatform.googleapis.com", "vertex"),
    (".amazonaws.com", "bedrock"),
    (".helicone.ai", "helicone"),
)
_HEADER_GATEWAYS = (
    (b"x-litellm-", "litellm"),
    (b"cf-aig-", "cloudflare"),
    (b"x-portkey-", "portkey"),
    (b"helicone-", "helicone"),
)


@dataclass(frozen=True, slots=True)
class Endpoint:
    scheme: str
    host: str
    port: int | None
    path_prefix: str
    kind: str


def parse_endpoints(value: str | None) -> tuple[Endpoint, ...]:
    """`URL=KIND,URL=KIND` -> endpoints, longest path prefix first; malformed items are skipped."""
    endpoints = []
    for item in (value or "").split(","):
        url, eq, kind = item.strip().rpartition("=")
        if not eq or not url or not kind:
            continue
        parts = urlsplit(url)
        if not parts.hostname:
            continue
        port = parts.port or (443 if parts.scheme == "https" else 80 if parts.scheme == "http" else None)
        endpoints.append(
            Endpoint(parts.scheme, parts.hostname.lower(), port, parts.path.rstrip("/"), kind.strip().lower())
        )
    return tuple(sorted(endpoints, key=lambda e: -len(e.path_prefix)))


def kind_of(
    scheme: str, host: str, port: int | None, path: str, endpoints: tuple[Endpoint, ...]
) -> str | None:
    """The vendor or gateway kind of a request's URL, or None when nothing knows the host."""
    if endpoints:
        effective = port or (443 if scheme == "https" else 80)
        for e in endpoints:
            if e.host == host and e.port == effective and path.startswith(e.path_prefix):
                return e.kind
    kind = _EXACT_HOSTS.get(host)
    if kind is not None:
        return kind
    for suffix, suffix_kind in _HOST_SUFFIXES:
        if host.endswith(suffix):
            return suffix_kind
    return None


def is_vendor(kind: str | None) -> bool:
    return kind in VENDOR_PLATFORM


# credential kind (keys.py) -> the gateway whose own credential it is
GATEWAY_CREDENTIALS = {
    "vercel-gateway-key": "vercel",
    "vercel-oidc": "vercel",
    "vercel-key": "vercel",
    "openrouter-key": "openrouter",
    "portkey-key": "portkey",
    "cloudflare-gateway-token": "cloudflare",
}


def route_of(
    kind: str | None, header_gateway: str | None, auth_kind: str | None
) -> tuple[str | None, str | None]:
    """(the gateway a call went through, None when direct; a note when host and key disagree).

    The host decides when we know it (a vendor's API is direct, a known gateway is that gateway);
    on a host we cannot classify, the gateway's response headers decide, else its credential.
    """
    key_gateway = GATEWAY_CREDENTIALS.get(auth_kind or "")
    if kind in VENDOR_PLATFORM:
        note = f"{auth_kind} sent to {kind}'s own API" if key_gateway else None
        return None, note
    host_gateway = kind or header_gateway
    if host_gateway is None:
        return key_gateway, None
    if key_gateway and key_gateway != host_gateway:
        return host_gateway, f"{auth_kind} sent to {host_gateway}"
    return host_gateway, None


def gateway_from_headers(headers: Mapping[bytes, bytes]) -> str | None:
    """A gateway that announces itself in response headers (names lower-case)."""
    for name in headers:
        if name[:1] in b"xch":
            for prefix, gateway in _HEADER_GATEWAYS:
                if name.startswith(prefix):
                    return gateway
    return None
