"""Run a real third-party instrumentation against modelmeter.mock and write what it exported as OTLP.

    python tests/foreign/capture.py SOURCE --out FILE \
        --openai URL --anthropic URL --openrouter URL --vercel URL

(A scenario that runs modelmeter's own shim as well writes its spool next to FILE, in FILE.spool/.)

SOURCE is one of SCENARIOS. The spans are collected in memory and written with the OTLP exporter's own
encoder (`encode_spans`), so FILE holds the exact protobuf `ExportTraceServiceRequest` an OTLP/HTTP
exporter would have sent. Each source runs in a process of its own: instrumentations patch the SDKs and
OpenTelemetry's global tracer provider for good, which must not leak into other tests.

Prompts are long enough (over 1024 mock tokens) for the mock's implicit caching, and the streamed OpenAI
call uses a reasoning model, so cache and reasoning tokens are exercised. Content capture stays at each
instrumentation's default (on for most), so tests can prove ingest drops it.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

SERVICE = "foreign-capture"
OPENAI_KEY = "sk-proj-FAKE0000000000000000000000000000000000000000"
ANTHROPIC_KEY = "sk-ant-api03-FAKE00000000000000000000000000000000000000"
OPENROUTER_KEY = "sk-or-v1-FAKE000000000000000000000000000000000000000000"
VERCEL_KEY = "vck_FAKE00000000000000000000000000000000"
SECRET_WORD = "zanzibar-content-marker"  # appears in every prompt; must never reach the database
LONG_PROMPT = f"{SECRET_WORD} " + "Summarise the quarterly spend by team and model. " * 90
OPENAI_PLAIN_MODEL = "gpt-4o-mini"
OPENAI_REASONING_MODEL = "o4-mini"
ANTHROPIC_MODEL = "claude-sonnet-4-5"
GATEWAY_MODEL = "anthropic/claude-sonnet-4.5"


@dataclass(frozen=True)
class Capture:
    """Where spans go (a provider with the in-memory exporter, or its processor) and where the mock is."""

    provider: TracerProvider
    processor: SpanProcessor
    openai_url: str
    anthropic_url: str
    openrouter_url: str
    vercel_origin: str
    spool_dir: Path


def openai_calls(base_url: str) -> None:
    """One plain call and one streamed call with usage, through the real openai SDK."""
    import openai

    client = openai.OpenAI(api_key=OPENAI_KEY, base_url=base_url, max_retries=0)
    messages: Any = [{"role": "user", "content": LONG_PROMPT}]
    client.chat.completions.create(model=OPENAI_PLAIN_MODEL, messages=messages)
    stream: Any = client.chat.completions.create(
        model=OPENAI_REASONING_MODEL,
        messages=messages,
        stream=True,
        stream_options={"include_usage": True},
    )
    for _chunk in stream:
        pass


def anthropic_calls(base_url: str) -> None:
    """A cache write, then a streamed cache read, through the real anthropic SDK."""
    import anthropic

    client = anthropic.Anthropic(api_key=ANTHROPIC_KEY, base_url=base_url, max_retries=0)
    system: Any = [{"type": "text", "text": LONG_PROMPT, "cache_control": {"type": "ephemeral"}}]
    messages: Any = [{"role": "user", "content": "Which team spent most?"}]
    client.messages.create(model=ANTHROPIC_MODEL, max_tokens=200, system=system, messages=messages)
    with client.messages.stream(
        model=ANTHROPIC_MODEL,
        max_tokens=200,
        system=system,
        messages=messages,
    ) as stream:
        for _text in stream.text_stream:
            pass


def openllmetry(capture: Capture) -> None:
    """OpenLLMetry's openai instrumentation, plus contrib's httpx2 one (openai 3 runs on httpx2)."""
    from opentelemetry.instrumentation.httpx import HTTPX2ClientInstrumentor
    from opentelemetry.instrumentation.openai import OpenAIInstrumentor

    OpenAIInstrumentor().instrument(tracer_provider=capture.provider)
    HTTPX2ClientInstrumentor().instrument(tracer_provider=capture.provider)
    openai_calls(capture.openai_url)


def openllmetry_rate_limited(capture: Capture) -> None:
    """OpenLLMetry on a call the mock refuses with 429 (no retries): an error span without usage."""
    import openai
    from opentelemetry.instrumentation.openai import OpenAIInstrumentor

    OpenAIInstrumentor().instrument(tracer_provider=capture.provider)
    client = openai.OpenAI(api_key=OPENAI_KEY, base_url=capture.openai_url, max_retries=0)
    with contextlib.suppress(openai.RateLimitError):  # what the app sees; the span records it
        client.chat.completions.create(
            model=OPENAI_PLAIN_MODEL,
            messages=[{"role": "user", "content": LONG_PROMPT}],
            extra_headers={"x-mock-fault": "429"},
        )


def openllmetry_via_openrouter(capture: Capture) -> None:
    """OpenLLMetry with the openai SDK pointed at a gateway's OpenAI-compatible surface (OpenRouter)."""
    import openai
    from opentelemetry.instrumentation.openai import OpenAIInstrumentor

    OpenAIInstrumentor().instrument(tracer_provider=capture.provider)
    client = openai.OpenAI(api_key=OPENROUTER_KEY, base_url=capture.openrouter_url, max_retries=0)
    client.chat.completions.create(model=GATEWAY_MODEL, messages=[{"role": "user", "content": LONG_PROMPT}])


def anthropic_sdk(capture: Capture) -> None:
    """The anthropic SDK's own tracing: on by default once a global tracer provider is set."""
    trace.set_tracer_provider(capture.provider)
    anthropic_calls(capture.anthropic_url)


def anthropic_sdk_compaction(capture: Capture) -> None:
    """The anthropic SDK's tracing of a compacting request with thinking, as a message and as a stream."""
    import anthropic

    trace.set_tracer_provider(capture.provider)
    client = anthropic.Anthropic(api_key=ANTHROPIC_KEY, base_url=capture.anthropic_url, max_retries=0)
    request: dict[str, Any] = {
        "model": ANTHROPIC_MODEL,
        "max_tokens": 2048,
        "messages": [{"role": "user", "content": LONG_PROMPT}],
        "betas": ["compact-2026-01-12"],
        "context_management": {"edits": [{"type": "compact_20260112"}]},
        "thinking": {"type": "enabled", "budget_tokens": 1024},
    }
    client.beta.messages.create(**request)
    with client.beta.messages.stream(**request) as events:
        events.get_final_message()


def anthropic_sdk_via_vercel(capture: Capture) -> None:
    """The anthropic SDK's tracing with the SDK pointed at the Vercel AI Gateway's Anthropic surface."""
    import anthropic

    trace.set_tracer_provider(capture.provider)
    client = anthropic.Anthropic(api_key=VERCEL_KEY, base_url=capture.vercel_origin, max_retries=0)
    client.messages.create(
        model=GATEWAY_MODEL, max_tokens=200, messages=[{"role": "user", "content": LONG_PROMPT}]
    )


def anthropic_sdk_over_modelmeter(capture: Capture) -> None:
    """The anthropic SDK's tracing with modelmeter's shim underneath: two layers of one call per request.

    Both layers reach the in-memory exporter (our shim adds its spool processor to the app's global
    provider) and our spans also reach the spool directory next to the output file.
    """
    import modelmeter

    trace.set_tracer_provider(capture.provider)
    modelmeter.instrument(spool=str(capture.spool_dir))
    anthropic_calls(capture.anthropic_url)
    modelmeter.flush()
    modelmeter.uninstrument()


def openinference(capture: Capture) -> None:
    from openinference.instrumentation.openai import OpenAIInstrumentor

    OpenAIInstrumentor().instrument(tracer_provider=capture.provider)
    openai_calls(capture.openai_url)


def logfire(capture: Capture) -> None:
    """Logfire keeps its own tracer provider; ours only lends it the in-memory exporter."""
    import logfire as logfire_sdk

    logfire_sdk.configure(
        send_to_logfire=False,
        console=False,
        service_name=SERVICE,
        additional_span_processors=[capture.processor],
    )
    logfire_sdk.instrument_openai()
    logfire_sdk.instrument_anthropic()
    openai_calls(capture.openai_url)
    anthropic_calls(capture.anthropic_url)


SCENARIOS: dict[str, Callable[[Capture], None]] = {
    "openllmetry": openllmetry,
    "openllmetry-openrouter": openllmetry_via_openrouter,
    "openllmetry-429": openllmetry_rate_limited,
    "anthropic-sdk": anthropic_sdk,
    "anthropic-sdk+modelmeter": anthropic_sdk_over_modelmeter,
    "anthropic-sdk-vercel": anthropic_sdk_via_vercel,
    "anthropic-sdk-compaction": anthropic_sdk_compaction,
    "openinference": openinference,
    "logfire": logfire,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", choices=sorted(SCENARIOS))
    parser.add_argument("--openai", required=True, help="mock base URL for the openai SDK (…/v1)")
    parser.add_argument("--anthropic", required=True, help="mock origin for the anthropic SDK")
    parser.add_argument("--openrouter", required=True, help="mock OpenRouter base URL (…/api/v1)")
    parser.add_argument("--vercel", required=True, help="mock Vercel AI Gateway origin (Anthropic surface)")
    parser.add_argument("--out", required=True, type=Path, help="OTLP protobuf file to write")
    args = parser.parse_args()

    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE}))
    processor = SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    spool_dir = args.out.with_suffix(".spool")
    urls = (args.openai, args.anthropic, args.openrouter, args.vercel)
    SCENARIOS[args.source](Capture(provider, processor, *urls, spool_dir))
    provider.force_flush()
    args.out.write_bytes(encode_spans(exporter.get_finished_spans()).SerializeToString())


if __name__ == "__main__":
    main()
