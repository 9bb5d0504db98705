"""Credentials, reduced to what is safe to keep: a fingerprint and a kind, never the secret.

The fingerprint is the first 12 hex digits of the key's SHA-256 plus its last 4 characters
(`3f9a1c0b7d2e:WXYZ`), so a team can match it against what provider consoles show without the
span ever holding the key. The kind comes from the key's shape and the header that carried it.
A JWT (Vercel OIDC, cloud access tokens) has its non-secret claims read (issuer, owner, project,
environment) and the token itself is dropped.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import orjson

# key prefix -> kind, most specific first
_PREFIX_KINDS: tuple[tuple[str, str], ...] = (
    ("sk-proj-", "openai-project-key"),
    ("sk-svcacct-", "openai-service-account-key"),
    ("sk-admin-", "openai-admin-key"),
    ("sk-ant-admin", "anthropic-admin-key"),
    ("sk-ant-oat", "anthropic-oauth-token"),
    ("sk-ant-", "anthropic-key"),
    ("sk-or-", "openrouter-key"),
    ("vck_", "vercel-gateway-key"),
    ("gsk_", "groq-key"),
    ("xai-", "xai-key"),
    ("AIza", "google-api-key"),
    ("ya29.", "google-oauth-token"),
    ("pk-", "portkey-key"),
)
# header that carried the key -> kind when the key's shape says nothing
_HEADER_KINDS = {
    b"x-api-key": "api-key",
    b"api-key": "azure-openai-key",
    b"x-goog-api-key": "google-api-key",
    b"x-portkey-api-key": "portkey-key",
    b"cf-aig-authorization": "cloudflare-gateway-token",
}
# vendor or gateway kind -> what a plain bearer key is there
_ROUTE_KINDS = {
    "openai": "openai-key",
    "mistral": "mistral-key",
    "cohere": "cohere-key",
    "deepseek": "deepseek-key",
    "together": "together-key",
    "fireworks": "fireworks-key",
    "litellm": "litellm-key",
    "openrouter": "openrouter-key",
    "vercel": "vercel-key",
    "anthropic": "anthropic-key",
    "groq": "groq-key",
    "gemini": "google-api-key",
}
_AUTH_HEADERS = (b"authorization", b"x-api-key", b"api-key", b"x-goog-api-key", b"x-portkey-api-key")


@dataclass(frozen=True, slots=True)
class Credential:
    fingerprint: str
    kind: str
    claims: tuple[tuple[str, str], ...] = ()  # non-secret JWT claims worth keeping


def fingerprint(secret: str) -> str:
    return f"{hashlib.sha256(secret.encode()).hexdigest()[:12]}:{secret[-4:]}"


def credential_of(
    headers: Mapping[bytes, bytes], query_key: str | None, route_kind: str | None
) -> Credential | None:
    """The credential a request carries (lower-case header names), or None when it carries none."""
    for header in _AUTH_HEADERS:
        raw = headers.get(header)
        if raw:
            return _classify(raw.decode("latin-1").strip(), header, route_kind)
    if query_key:
        return _classify(query_key, b"x-goog-api-key", route_kind)
    return None


_CACHE: dict[tuple[str, bytes, str | None], Credential] = {}


def _classify(value: str, header: bytes, route_kind: str | None) -> Credential | None:
    cache_key = (value, header, route_kind)
    known = _CACHE.get(cache_key)
    if known is not None:
        return known
    secret = value
    if header == b"authorization":
        scheme, _, token = value.partition(" ")
        if scheme.lower() not in ("bearer", "token", "basic"):
            token = value
        secret = token.strip()
    if not secret:
        return None
    credential = _describe(secret, header, route_kind)
    if len(_CACHE) > 256:
        _CACHE.clear()
    _CACHE[cache_key] = credential
    return credential


def _describe(secret: str, header: bytes, route_kind: str | None) -> Credential:
    print_ = fingerprint(secret)
    if secret.count(".") == 2 and secret.startswith("eyJ"):
        claims = jwt_claims(secret)
        issuer = claims.get("iss", "")
        kind = "vercel-oidc" if "vercel" in issuer else "jwt"
        kept = tuple((k, claims[k]) for k in ("iss", "owner", "project", "environment") if k in claims)
        return Credential(print_, kind, kept)
    for prefix, kind in _PREFIX_KINDS:
        if secret.startswith(prefix):
            return Credential(print_, kind)
    by_header = _HEADER_KINDS.get(header)
    if by_header is not None and by_header != "api-key":
        return Credential(print_, by_header)
    return Credential(print_, _ROUTE_KINDS.get(route_kind or "", by_header or "bearer-token"))


def jwt_claims(token: str) -> dict[str, str]:
    """String claims of a JWT payload (not verified: we only label the caller, we never trust it)."""
    try:
        payload = token.split(".")[1]
        decoded = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, IndexError, orjson.JSONDecodeError):
        return {}
    if not isinstance(decoded, dict):
        return {}
    return {k: v for k, v in decoded.items() if isinstance(v, str) and k not in ("jti", "sub")}
