"""Where a request goes: the API vendor (direct) or the gateway, from host, configuration and headers.

Known public hosts and gateway headers are in `modelmeter.vendors`. `MODELMETER_ENDPOINTS`
(`URL=KIND,...`) classifies anything else: a self-hosted gateway, an Azure custom domain, a local mock.
KIND is a vendor from `vendors.APIS` (a direct route) or a gateway name (any other word, e.g.
`vercel`, `litellm`, or your own). A gateway that is not recognised by host still gives itself away
in response headers (`x-litellm-*`, `cf-aig-*`, `x-portkey-*`, `helicone-*`) or in the credential
the request carries (a Vercel AI Gateway `vck_` key or OIDC token, an OpenRouter key): `route_of`
weighs the evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from modelmeter import vendors


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
    kind = vendors.HOSTS.get(host)
    if kind is not None:
        return kind
    for suffix, suffix_kind in vendors.HOST_SUFFIXES:
        if host.endswith(suffix):
            return suffix_kind
    return None


def is_vendor(kind: str | None) -> bool:
    return kind in vendors.APIS


def route_of(
    kind: str | None, header_gateway: str | None, auth_kind: str | None
) -> tuple[str | None, str | None]:
    """(the gateway a call went through, None when direct; a note when host and key disagree).

    The host decides when we know it (a vendor's API is direct, a known gateway is that gateway);
    on a host we cannot classify, the gateway's response headers decide, else its credential.
    """
    key_gateway = vendors.GATEWAY_CREDENTIALS.get(auth_kind or "")
    if is_vendor(kind):
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
            for prefix, gateway in vendors.HEADER_GATEWAYS:
                if name.startswith(prefix):
                    return gateway
    return None
