"""What a call was, from what its request and its response said: the record's attributes.

A pure function (`describe`) of the request's facts (`request.RequestFacts`, whose place among
attempts `correlation.py` has settled) and of what the response said (`Answer`, read by
`call.CallObservation`): naming, route, usage, price, timing and how the call ended. No span, no
I/O; the same attributes go into the spool record and, when one is made, onto the GenAI span.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from modelmeter import pricing as core_pricing
from modelmeter import semconv as sc
from modelmeter import vendors
from modelmeter.instrument import pricing
from modelmeter.instrument.naming import canonical
from modelmeter.instrument.providers import Facts, WireFamily
from modelmeter.instrument.request import RequestFacts
from modelmeter.instrument.routes import gateway_from_headers, route_of

_REQUEST_ID_HEADERS = (
    b"x-request-id",
    b"request-id",
    b"mistral-correlation-id",
    b"x-vercel-id",
    b"apim-request-id",
    b"x-litellm-call-id",
    b"cf-aig-log-id",
)


@dataclass(slots=True)
class Answer:
    """What the response side of one attempt said, once its body has ended."""

    how: str  # eof | closed | abandoned | error | failed (no response)
    http_status: int | None
    headers: Mapping[bytes, bytes]  # lower-cased names
    facts: Facts  # what the wire family read from the body
    error_type: str | None  # None: the call succeeded
    parse_error: str | None  # our own parsing stopped ("" only for a body that is not valid JSON)
    duration_s: float
    ttft_s: float | None = None


def describe(request: RequestFacts, answer: Answer, start_ns: int) -> dict[str, Any]:
    """The call's attributes, request side and response side (a new dict)."""
    a = request.attributes()
    how, error_type = answer.how, answer.error_type
    facts = answer.facts
    route = request.route
    kind = route.kind
    headers = answer.headers
    status = answer.http_status
    api = vendors.APIS.get(kind or "")
    # a host known as a vendor's is direct; any other may be a gateway that names itself in
    # headers or by its own credential (routes.route_of)
    from_headers = None if kind is not None else gateway_from_headers(headers)
    gateway, route_note = route_of(kind, from_headers, a.get(sc.MM_AUTH_KIND))
    if gateway:
        a[sc.MM_ROUTE] = "gateway"
        a[sc.MM_GATEWAY] = gateway
    if route_note:
        a[sc.MM_ROUTE_NOTE] = route_note

    # model naming: the model that answered, else the one asked for
    model = facts.response_model or request.model
    platform = _platform(api, gateway, facts.served_by, a.get(sc.SERVER_ADDRESS))
    vendor = None
    if model:
        vendor, canonical_model = canonical(model, api.model_vendor if api is not None else None)
        a[sc.MM_MODEL] = canonical_model
        if vendor:
            a[sc.MM_PROVIDER] = vendor
    if gateway and vendor:
        a[sc.GEN_AI_PROVIDER_NAME] = vendors.convention_name(vendor)
    if platform:
        a[sc.MM_PLATFORM] = platform
    if facts.response_model:
        a[sc.GEN_AI_RESPONSE_MODEL] = facts.response_model
    if facts.response_id:
        a[sc.GEN_AI_RESPONSE_ID] = facts.response_id
    if facts.finish_reason:
        a[sc.MM_FINISH_REASON] = facts.finish_reason
        a[sc.GEN_AI_RESPONSE_FINISH_REASONS] = (facts.finish_reason,)
    if facts.service_tier:
        a[sc.MM_SERVICE_TIER] = facts.service_tier

    # HTTP facts
    if status is not None:
        a[sc.HTTP_RESPONSE_STATUS_CODE] = status
        _header_facts(headers, a)

    # how it ended
    if status is not None and status >= 400 and facts.error_type:
        a[sc.MM_ERROR_CODE] = facts.error_type
    if request.streaming:
        complete = facts.terminal or (
            route.family.ENDS_AT_EOF and (how == "eof" or facts.finish_reason is not None)
        )
    else:
        complete = how == "eof"
    truncated = status is not None and status < 400 and not complete
    a[sc.MM_TRUNCATED] = truncated
    if truncated or how != "eof":
        a[sc.MM_END] = how
    if error_type:
        a[sc.ERROR_TYPE] = error_type
    a[sc.MM_STATUS] = "error" if error_type else "ok"
    if answer.parse_error:
        a[sc.MM_PARSE_ERROR] = answer.parse_error

    # timing
    a[sc.MM_DURATION_MS] = answer.duration_s * 1000.0
    if answer.ttft_s is not None:
        a[sc.MM_TTFT_MS] = answer.ttft_s * 1000.0
        a[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = answer.ttft_s

    # usage and money
    a[sc.MM_USAGE_KNOWN] = facts.usage_known
    if facts.usage_known:
        _usage_attributes(facts, a)
        if model:
            try:
                _price(facts, start_ns, a)
            except Exception as err:  # the price is one fact of many: the others still count
                a[sc.MM_COST_SOURCE] = "unpriced"
                a[sc.MM_PARSE_ERROR] = f"{type(err).__name__}: {err}"[:200]
    elif model:
        a[sc.MM_COST_SOURCE] = "unpriced"
    if facts.reported_cost is not None:
        a[sc.MM_REPORTED_COST_USD] = _money(facts.reported_cost)
        source = facts.reported_cost_source or "reported"
        a[sc.MM_REPORTED_COST_SOURCE] = f"{gateway}.{source}" if gateway else source
    if facts.extras:
        a.update(facts.extras)
    if facts.gateway_attempts:
        a[sc.MM_GATEWAY_ATTEMPTS] = orjson.dumps(facts.gateway_attempts).decode()
        first = facts.gateway_attempts[0].get("provider")
        if isinstance(first, str):
            a[sc.MM_GATEWAY_FIRST_CHOICE] = first
    if facts.output_parts and request.capture_max:
        a[sc.GEN_AI_OUTPUT_MESSAGES] = "".join(facts.output_parts)[: request.capture_max]
    return a


def provider_name(kind: str | None, family: WireFamily) -> str:
    """gen_ai.provider.name for a direct call (a gateway call is renamed after its model's vendor)."""
    api = vendors.APIS.get(kind or "")
    if api is not None:
        return api.convention_name
    return vendors.FAMILY_CONVENTION_NAMES.get(family.NAME, "openai")


def _price(facts: Facts, start_ns: int, a: dict[str, Any]) -> None:
    """The estimate from the call's whole price key and usage, as ingest will price its record."""
    cost = pricing.estimate_call(a, start_ns)
    if cost is None:
        a[sc.MM_COST_SOURCE] = "unpriced"
        return
    key = pricing.price_key(a)
    if facts.fees:
        fees, unpriced = core_pricing.request_fees(key, facts.fees, start_ns)
        if fees:
            cost += fees
            a[sc.MM_COST_FEES_USD] = _money(fees)
        if unpriced:
            a[sc.MM_COST_EXCLUDES] = ",".join(unpriced)
    a[sc.MM_COST_USD] = _money(cost)
    a[sc.MM_COST_SOURCE] = "genai-prices"
    a[sc.GEN_AI_USAGE_COST] = float(cost)
    if facts.compaction:
        input_tokens, cache_read, cache_write, output = facts.compaction
        share = core_pricing.estimate(
            key, core_pricing.CallUsage(input_tokens, output, cache_read, cache_write), start_ns
        )
        if share is not None:
            a[sc.MM_COMPACTION_COST_USD] = _money(share)


def _money(value: Decimal) -> str:
    """A decimal string without exponent or trailing zeros (money never goes through float)."""
    return format(value.normalize(), "f")


def _platform(api: vendors.Api | None, gateway: str | None, served_by: str | None, host: Any) -> str | None:
    if gateway:
        return served_by
    if api is not None:
        return api.platform
    return host if isinstance(host, str) else None


def _usage_attributes(facts: Facts, a: dict[str, Any]) -> None:
    if facts.input_tokens is not None:
        a[sc.GEN_AI_USAGE_INPUT_TOKENS] = a[sc.MM_INPUT_TOKENS] = facts.input_tokens
    if facts.output_tokens is not None:
        a[sc.GEN_AI_USAGE_OUTPUT_TOKENS] = a[sc.MM_OUTPUT_TOKENS] = facts.output_tokens
    if facts.cache_read_tokens is not None:
        a[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = a[sc.MM_CACHE_READ_TOKENS] = facts.cache_read_tokens
    if facts.cache_write_tokens is not None:
        a[sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] = a[sc.MM_CACHE_WRITE_TOKENS] = (
            facts.cache_write_tokens
        )
    if facts.reasoning_tokens is not None:
        a[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = a[sc.MM_REASONING_TOKENS] = facts.reasoning_tokens


def _header_facts(headers: Mapping[bytes, bytes], a: dict[str, Any]) -> None:
    """Request id and rate-limit headers (every `*ratelimit*` and `retry-after*` header, as sent)."""
    for name in _REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            a[sc.MM_REQUEST_ID] = value.decode("latin-1")
            break
    for name, value in headers.items():
        if b"ratelimit" in name or name.startswith(b"retry-after"):
            a[sc.MM_RATELIMIT_PREFIX + name.decode("latin-1")] = value.decode("latin-1")
