"""Credentials become fingerprints and kinds, never kept (instrument/keys.py)."""

from __future__ import annotations

import base64
import hashlib

import orjson
import pytest

from modelmeter.instrument.keys import credential_of, fingerprint


def test_fingerprint_is_sha256_prefix_and_last_four_never_the_key() -> None:
    key = "sk-proj-FAKEabcdefghijklmnopqrstuvwxyz0123WXYZ"
    assert fingerprint(key) == hashlib.sha256(key.encode()).hexdigest()[:12] + ":WXYZ"
    credential = credential_of({b"authorization": f"Bearer {key}".encode()}, None, "openai")
    assert credential is not None and credential.kind == "openai-project-key"
    assert "FAKEabcdefgh" not in repr(credential)


@pytest.mark.parametrize(
    ("headers", "route", "kind"),
    [
        ({b"x-api-key": b"sk-ant-api03-FAKE0000"}, "anthropic", "anthropic-key"),
        ({b"authorization": b"Bearer vck_FAKE0000"}, "vercel", "vercel-gateway-key"),
        ({b"authorization": b"Bearer sk-or-v1-FAKE0000"}, "openrouter", "openrouter-key"),
        ({b"x-goog-api-key": b"AIzaFAKE0000"}, "gemini", "google-api-key"),
        ({b"authorization": b"Bearer gsk_FAKE0000"}, "groq", "groq-key"),
        ({b"authorization": b"Bearer FAKEmistral0000"}, "mistral", "mistral-key"),
        ({b"api-key": b"0123FAKE"}, "azure", "azure-openai-key"),
        ({b"authorization": b"Bearer sk-FAKE0000"}, "litellm", "litellm-key"),
    ],
)
def test_auth_kind_comes_from_the_key_shape_then_the_header_then_the_route(
    headers: dict[bytes, bytes], route: str, kind: str
) -> None:
    credential = credential_of(headers, None, route)
    assert credential is not None and credential.kind == kind


def test_a_vercel_oidc_token_keeps_its_owner_and_project_but_not_the_token() -> None:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(orjson.dumps(value)).decode().rstrip("=")

    claims = {
        "iss": "https://oidc.vercel.com/acme",
        "owner": "acme",
        "project": "shop",
        "environment": "production",
    }
    token = f"{part({'alg': 'RS256'})}.{part(claims)}.FAKESIGNATURE"
    credential = credential_of({b"authorization": f"Bearer {token}".encode()}, None, "vercel")
    assert credential is not None and credential.kind == "vercel-oidc"
    assert dict(credential.claims) == claims
    assert token not in repr(credential) and "FAKESIGNATURE" not in repr(credential)


def test_a_request_without_credentials_has_none() -> None:
    assert credential_of({b"user-agent": b"x"}, None, "openai") is None
