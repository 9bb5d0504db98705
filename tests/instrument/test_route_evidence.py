"""The evidence decides the route: a gateway's own credential on a host we cannot classify is that
gateway, with a note where host and key disagree; a call that went through a gateway is never a
direct one (and so never a "provider key still used directly")."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import openai
import pytest
from support.recorder import Recorder

import modelmeter
from modelmeter import semconv as sc
from modelmeter.ingest.pipeline import ingest_paths
from modelmeter.instrument.routes import route_of
from modelmeter.mock import MockProviders
from modelmeter.reports import build_report

MESSAGES: Any = [{"role": "user", "content": "hi"}]


def oidc_token() -> str:
    """A JWT shaped like a Vercel OIDC token (claims only; we never verify, only label)."""

    def part(value: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    claims = {"iss": "https://oidc.vercel.com/acme", "owner": "acme", "project": "shop", "environment": "dev"}
    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJl"


@pytest.fixture
def unknown_gateways(mock: MockProviders) -> Iterator[Recorder]:
    """The shim, told about every mock vendor but the two gateways: their hosts are unknown to it."""
    rec = Recorder()
    known = ",".join(e for e in mock.endpoints.split(",") if not e.endswith(("=vercel", "=openrouter")))
    modelmeter.instrument(tracer_provider=rec.provider, spool=False, endpoints=known)
    yield rec
    modelmeter.uninstrument()


def _chat(mock: MockProviders, vendor: str, key: str, model: str = "openai/gpt-4o-mini") -> None:
    client = openai.OpenAI(base_url=mock.base_url(vendor), api_key=key, max_retries=0)
    client.chat.completions.create(model=model, messages=MESSAGES)


@pytest.mark.parametrize(
    ("vendor", "key", "gateway"),
    [
        pytest.param("vercel", "vck_FAKE00000000000000000000000000000000", "vercel", id="vercel-key"),
        pytest.param("vercel", oidc_token(), "vercel", id="vercel-oidc"),
        pytest.param(
            "openrouter", "sk-or-v1-FAKE0000000000000000000000000000", "openrouter", id="openrouter-key"
        ),
    ],
)
def test_a_gateway_credential_on_an_unknown_host_makes_the_call_a_gateway_call(
    mock: MockProviders, unknown_gateways: Recorder, vendor: str, key: str, gateway: str
) -> None:
    _chat(mock, vendor, key)
    attrs = unknown_gateways.only()
    assert (attrs[sc.MM_ROUTE], attrs[sc.MM_GATEWAY]) == ("gateway", gateway)
    assert sc.MM_ROUTE_NOTE not in attrs
    assert attrs[sc.MM_PLATFORM] == mock.calls[-1].served_by  # the gateway's own metadata is read too


def test_an_unknown_host_with_a_plain_key_stays_direct(
    mock: MockProviders, unknown_gateways: Recorder
) -> None:
    _chat(mock, "vercel", "FAKEplainbearer0000000000000000")
    attrs = unknown_gateways.only()
    assert attrs[sc.MM_ROUTE] == "direct" and sc.MM_GATEWAY not in attrs


def test_host_and_key_that_disagree_keep_the_host_and_say_so(
    mock: MockProviders, recorder: Recorder, fake_keys: dict[str, str]
) -> None:
    _chat(mock, "openrouter", fake_keys["vercel"])  # a Vercel key sent to OpenRouter
    _chat(mock, "openai", fake_keys["vercel"], model="gpt-4o-mini")  # ... and to OpenAI's own API
    through_openrouter, to_openai = (dict(s.attributes or {}) for s in recorder.spans())
    assert (through_openrouter[sc.MM_ROUTE], through_openrouter[sc.MM_GATEWAY]) == ("gateway", "openrouter")
    assert through_openrouter[sc.MM_ROUTE_NOTE] == "vercel-gateway-key sent to openrouter"
    assert to_openai[sc.MM_ROUTE] == "direct"
    assert to_openai[sc.MM_ROUTE_NOTE] == "vercel-gateway-key sent to openai's own API"


@pytest.mark.parametrize(
    ("kind", "headers", "auth", "expected"),
    [
        ("openai", None, "openai-project-key", (None, None)),
        ("vercel", None, "vercel-gateway-key", ("vercel", None)),
        (None, None, "vercel-oidc", ("vercel", None)),
        (None, None, "openrouter-key", ("openrouter", None)),
        (None, "litellm", "vercel-gateway-key", ("litellm", "vercel-gateway-key sent to litellm")),
        (None, None, "bearer-token", (None, None)),
        ("openrouter", None, "vercel-oidc", ("openrouter", "vercel-oidc sent to openrouter")),
    ],
)
def test_route_of_weighs_host_headers_and_key(
    kind: str | None, headers: str | None, auth: str, expected: tuple[str | None, str | None]
) -> None:
    assert route_of(kind, headers, auth) == expected


def test_a_gateway_key_on_an_unknown_host_is_not_a_provider_key_used_directly(
    mock: MockProviders, fake_keys: dict[str, str], tmp_path: Path
) -> None:
    """Spool, ingest and the inventory report: the Vercel key's calls are gateway calls; only the
    OpenAI key, used against OpenAI's own API, is a key still used directly."""
    spool = tmp_path / "spool"
    known = ",".join(e for e in mock.endpoints.split(",") if not e.endswith("=vercel"))
    modelmeter.instrument(spool=str(spool), endpoints=known)
    try:
        _chat(mock, "vercel", fake_keys["vercel"])
        _chat(mock, "openai", fake_keys["openai"], model="gpt-4o-mini")
        assert modelmeter.flush()
    finally:
        modelmeter.uninstrument()
    db = tmp_path / "calls.duckdb"
    ingest_paths([spool], db)
    con = duckdb.connect(str(db), read_only=True)
    try:
        report = build_report("inventory", con)
    finally:
        con.close()
    (direct,) = [t.frame for t in report.tables if t.name == "direct_keys"]
    assert direct["auth_kind"].to_list() == ["openai-project-key"]
