"""Regenerate the OpenLIT fixture: real OpenLIT spans from calls to modelmeter.mock, plus the mock's truth.

OpenLIT 1.45 pins `openai<3` and `anthropic<1`, which the project's test environment (openai 3, anthropic 2)
cannot hold, so it is not a test dependency. This script runs in a separate virtual environment and
writes two files the tests replay (tests/foreign/test_openlit.py):

    fixtures/openlit-<version>.pb          the OTLP protobuf ExportTraceServiceRequest OpenLIT produced
    fixtures/openlit-<version>.truth.json  what the mock served for each call (models, usage, streaming)

To regenerate (from the repository root):

    python3 -m venv /tmp/openlit-venv
    /tmp/openlit-venv/bin/pip install openlit==1.45.0 openai==2.54.0 anthropic==0.125.0 orjson
    PYTHONPATH=.:tests/foreign /tmp/openlit-venv/bin/python tests/foreign/capture_openlit.py

The calls are the same as for the other sources (tests/foreign/capture.py). OpenLIT would download its
price list from the internet at start-up: a local one is passed instead (no traffic leaves loopback).
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
import warnings
from pathlib import Path

from capture import anthropic_calls, openai_calls
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from modelmeter.mock import Knobs, MockProviders

FIXTURES = Path(__file__).parent / "fixtures"
# Made-up prices in OpenLIT's price-file shape: only so that OpenLIT writes its cost attribute.
LOCAL_PRICES = {
    "chat": {
        "gpt-4o-mini": {"promptPrice": 0.00015, "completionPrice": 0.0006},
        "o4-mini": {"promptPrice": 0.0011, "completionPrice": 0.0044},
        "claude-sonnet-4-5": {"promptPrice": 0.003, "completionPrice": 0.015},
    }
}


def main() -> None:
    import openlit

    warnings.simplefilter("ignore", DeprecationWarning)
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "foreign-capture"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as prices:
        json.dump(LOCAL_PRICES, prices)
    openlit.init(
        application_name="foreign-capture",
        environment="test",
        pricing_json=prices.name,
        disable_metrics=True,
        disable_batch=True,
        disable_events=True,
        collect_system_metrics=False,
    )
    # the same first-token delay as the live tests (harness.MOCK_TTFT_MS), so TTFT units are checked
    with MockProviders(vendors=["openai", "anthropic"], knobs=Knobs(ttft_ms=120.0)) as mock:
        openai_calls(mock.base_url("openai"))
        anthropic_calls(mock.base_url("anthropic"))
        served = mock.calls
    provider.force_flush()

    FIXTURES.mkdir(exist_ok=True)
    stem = f"openlit-{openlit_version()}"
    (FIXTURES / f"{stem}.pb").write_bytes(encode_spans(exporter.get_finished_spans()).SerializeToString())
    truth = [
        {
            "request_model": call.request_model,
            "response_model": call.response_model,
            "provider": call.provider,
            "streaming": call.streaming,
            "finish_reason": call.finish_reason,
            "response_id": call.response_id,
            "usage": dataclasses.asdict(call.usage) if call.usage else None,
        }
        for call in served
    ]
    (FIXTURES / f"{stem}.truth.json").write_text(json.dumps(truth, indent=2) + "\n")
    print(f"wrote {stem}.pb and {stem}.truth.json ({len(exporter.get_finished_spans())} spans)")


def openlit_version() -> str:
    from importlib.metadata import version

    return version("openlit")


if __name__ == "__main__":
    main()
