"""Helpers shared by the foreign span mappings: attribute lookup, inclusive usage, provider and model names.

Each foreign source (the anthropic SDK, OpenLLMetry, OpenLIT, Logfire, the Vercel AI SDK, OpenInference)
says the same facts under different names and with different conventions. A mapping module lists its
names in priority order and calls these helpers, so the rules (unknown is None, tokens inclusive,
provider in gateway naming, no prompt content stored) live in one place.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from modelmeter import semconv, vendors
from modelmeter.ingest.normalise import SpanIn
from modelmeter.instrument import naming, routes
from modelmeter.record import RECORD_FIELDS

STATUS_ERROR = 2

# Operations that are one model call each; agent, tool and workflow spans only repeat their children's usage.
INFERENCE_OPERATIONS = frozenset({"chat", "text_completion", "generate_content", "embeddings", "responses"})

# Attribute keys (or key prefixes) that hold prompt or completion text. Foreign instrumentations record
# content by default; we never store it (DESIGN.md, principle 2).
CONTENT_KEYS = frozenset(
    {
        semconv.GEN_AI_INPUT_MESSAGES,
        semconv.GEN_AI_OUTPUT_MESSAGES,
        "gen_ai.system_instructions",
        "gen_ai.tool.definitions",
        "gen_ai.prompt",
        "gen_ai.completion",
        "ai.prompt",
        "ai.prompt.messages",
        "ai.prompt.tools",
        "ai.prompt.toolChoice",
        "ai.response.text",
        "ai.response.reasoning",
        "ai.response.toolCalls",
        "ai.response.object",
        "ai.values",
        "input.value",
        "output.value",
        "request_data",
        "response_data",
        "pydantic_ai.all_messages",
        "final_result",
    }
)
CONTENT_PREFIXES = (
    "gen_ai.prompt.",
    "gen_ai.completion.",
    "llm.input_messages.",
    "llm.output_messages.",
    "llm.prompts.",
    "llm.tools.",
    "ai.request.headers.",
)

ENDPOINTS_ENV = "MODELMETER_ENDPOINTS"  # how ingest classifies self-hosted gateways and local mocks


def attr(span: SpanIn, *keys: str) -> Any:
    """The first of `keys` that the span carries with a non-null value."""
    for key in keys:
        value = span.attributes.get(key)
        if value is not None:
            return value
    return None


def int_attr(span: SpanIn, *keys: str) -> int | None:
    value = attr(span, *keys)
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def float_attr(span: SpanIn, *keys: str) -> float | None:
    value = attr(span, *keys)
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def bool_attr(span: SpanIn, *keys: str) -> bool | None:
    value = attr(span, *keys)
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.lower() == "true"
    return None


def first_of(value: Any) -> str | None:
    """The first item of a list attribute; Logfire writes lists as JSON strings, some sources as scalars."""
    if isinstance(value, str) and value.startswith("["):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if isinstance(value, list | tuple):
        return str(value[0]) if value else None
    return None if value is None else str(value)


def json_attr(span: SpanIn, key: str) -> dict[str, Any]:
    """A JSON-object attribute as a dict ({} when absent or not an object)."""
    raw = span.attributes.get(key)
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return {}
    return raw if isinstance(raw, dict) else {}


def is_content_key(key: str) -> bool:
    return key in CONTENT_KEYS or key.startswith(CONTENT_PREFIXES)


def new_record(span: SpanIn, source: str) -> dict[str, Any]:
    """A record with the span facts every source shares; mapping modules fill in the rest."""
    record: dict[str, Any] = dict.fromkeys(RECORD_FIELDS)
    failed = span.status_code == STATUS_ERROR
    record.update(
        trace_id=span.trace_id,
        span_id=span.span_id,
        parent_span_id=span.parent_span_id,
        name=span.name,
        start_ns=span.start_ns,
        end_ns=span.end_ns,
        duration_ms=(span.end_ns - span.start_ns) / 1e6 if span.end_ns >= span.start_ns else None,
        source=source,
        service=attr(span, semconv.SERVICE_NAME) or span.resource.get(semconv.SERVICE_NAME),
        environment=(
            attr(span, semconv.DEPLOYMENT_ENVIRONMENT_NAME, semconv.DEPLOYMENT_ENVIRONMENT)
            or span.resource.get(semconv.DEPLOYMENT_ENVIRONMENT_NAME)
            or span.resource.get(semconv.DEPLOYMENT_ENVIRONMENT)
        ),
        workflow=attr(span, semconv.MM_WORKFLOW, semconv.GEN_AI_WORKFLOW_NAME, "traceloop.workflow.name"),
        team=attr(span, semconv.MM_TEAM),
        tier=attr(span, semconv.MM_TIER),
        run=attr(span, semconv.MM_RUN),
        status="error" if failed else "ok",
        http_status=int_attr(span, semconv.HTTP_RESPONSE_STATUS_CODE),
        error_type=attr(span, semconv.ERROR_TYPE) or (exception_type(span) if failed else None),
        operation=attr(span, semconv.GEN_AI_OPERATION_NAME),
        request_model=attr(span, semconv.GEN_AI_REQUEST_MODEL),
        response_model=attr(span, semconv.GEN_AI_RESPONSE_MODEL),
        response_id=attr(span, semconv.GEN_AI_RESPONSE_ID),
        finish_reason=first_of(attr(span, semconv.GEN_AI_RESPONSE_FINISH_REASONS)),
        server_address=attr(span, semconv.SERVER_ADDRESS),
        usage_known=False,
        truncated=None,
        attributes={k: _plain(v) for k, v in span.attributes.items() if not is_content_key(k)},
    )
    return record


def exception_type(span: SpanIn) -> str:
    """The recorded exception's class, else the conventions' fallback `_OTHER`."""
    for event in span.events:
        if event.get("name") == "exception":
            found = (event.get("attributes") or {}).get("exception.type")
            if found:
                return str(found)
    return "_OTHER"


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def set_usage(
    record: dict[str, Any],
    *,
    input_tokens: int | None,
    output_tokens: int | None,
    cache_read: int | None = None,
    cache_write: int | None = None,
    reasoning: int | None = None,
    input_includes_cache: bool = True,
) -> None:
    """Store usage in the inclusive convention; a source whose input excludes cache gets it added here.

    Instrumentations leave out cache counts that are zero, so with usage known an absent cache part is 0.
    Reasoning is different: several sources never report it (or not for streams), so absent stays None.
    """
    known = input_tokens is not None or output_tokens is not None
    if known:
        cache_read, cache_write = cache_read or 0, cache_write or 0
    if input_tokens is not None and not input_includes_cache:
        input_tokens += (cache_read or 0) + (cache_write or 0)
    record.update(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        reasoning_tokens=reasoning,
        usage_known=known,
    )


def ttft_ms(record: dict[str, Any], seconds: float | None = None, ms: float | None = None) -> None:
    """Time to first token only for streamed calls (DESIGN.md: NULL when not streamed)."""
    if not record.get("streaming"):
        return
    if ms is not None:
        record["ttft_ms"] = ms
    elif seconds is not None:
        record["ttft_ms"] = seconds * 1000.0


def platform_of(value: str) -> str:
    """A platform as a source spells it (`bedrock`, `vertex`, `azure`) in our naming (`aws.bedrock`, ...)."""
    return vendors.FOREIGN_PROVIDERS.get(value.lower(), (None, None))[1] or value.lower()


def set_route(record: dict[str, Any], *, provider_value: str | None, url: str | None = None) -> None:
    """Fill provider, platform, route, gateway and the canonical model.

    `provider_value` is what the source calls the provider (any spelling in vendors.FOREIGN_PROVIDERS, or a
    gateway name such as the AI SDK's `gateway`). The endpoint (`url`, else `server.address` and
    `server.port`) is classified like the shim does, MODELMETER_ENDPOINTS included, and wins: a
    client that says `openai` while talking to a gateway's OpenAI-compatible surface went through it.
    """
    value = (provider_value or "").strip().lower()
    kind = _endpoint_kind(record, url)
    alias_vendor, platform = vendors.FOREIGN_PROVIDERS.get(value, (None, None))
    gateway = vendors.FOREIGN_GATEWAYS.get(value)
    if kind is not None and kind in vendors.APIS:
        platform = vendors.APIS[kind].platform
    elif kind is not None:
        gateway = kind
    if gateway:
        alias_vendor, platform = None, None
    vendor, model = alias_vendor, None
    answered = record.get("response_model") or record.get("request_model")
    if answered:
        vendor, model = naming.canonical(str(answered), alias_vendor)
    record.update(
        route="gateway" if gateway else "direct",
        gateway=gateway,
        provider=vendor,
        platform=platform,
        model=model,
    )


def _endpoint_kind(record: dict[str, Any], url: str | None) -> str | None:
    """The vendor or gateway kind of the endpoint a span names (None when it names none we know)."""
    if url:
        parts = urlsplit(url if "//" in url else f"//{url}")
        scheme, host, port, path = parts.scheme or "https", parts.hostname, parts.port, parts.path
    else:
        host, path = record.get("server_address"), ""
        port = (record.get("attributes") or {}).get(semconv.SERVER_PORT)
        scheme = "https" if port in (None, 443) else "http"
    if not host:
        return None
    record["server_address"] = record.get("server_address") or host
    return routes.kind_of(scheme, host.lower(), port, path, _endpoints(os.environ.get(ENDPOINTS_ENV)))


@lru_cache(maxsize=8)
def _endpoints(value: str | None) -> tuple[routes.Endpoint, ...]:
    return routes.parse_endpoints(value)
