"""Every call is recorded, whatever the app's sampler, processes or HTTP client (issue 19).

Each app runs as its own Python process against the mock providers over real sockets, with the
real SDKs; its spool goes through the real `modelmeter ingest` into a DuckDB file, and `calls` must
hold each call exactly once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace.sampling import TraceIdRatioBased
from support.ingest import rows, run_cli

from modelmeter.mock import MockProviders

CALLS = 50


def _run_app(source: str, mock: MockProviders, spool: Path, *args: str, timeout: float = 120) -> str:
    env = dict(
        os.environ,
        ENDPOINTS=mock.endpoints,
        OPENAI_BASE=mock.base_url("openai"),
        ANTHROPIC_BASE=mock.base_url("anthropic"),
        SPOOL=str(spool),
    )
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(source), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=spool.parent,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def _ingested(spool: Path, db: Path) -> list[tuple[Any, ...]]:
    """(trace_id, span_id, parent_span_id, response_id) of every row of `calls`."""
    result = run_cli("ingest", str(spool), "--db", str(db))
    assert result.returncode == 0, result.stderr
    return rows(db, "SELECT trace_id, span_id, parent_span_id, response_id FROM calls ORDER BY start_time")


SAMPLED_APP = """
import json, os, sys
import openai
from opentelemetry import context, trace
from opentelemetry.propagate import extract
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, DEFAULT_ON, TraceIdRatioBased
import modelmeter

sampler = {"100": ALWAYS_ON, "10": TraceIdRatioBased(0.1), "off": ALWAYS_OFF, "remote-00": DEFAULT_ON}
exporter = InMemorySpanExporter()
provider = TracerProvider(sampler=sampler[sys.argv[1]])
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
modelmeter.instrument(spool=os.environ["SPOOL"], endpoints=os.environ["ENDPOINTS"])
client = openai.OpenAI(base_url=os.environ["OPENAI_BASE"], api_key="sk-proj-FAKE0000000000", max_retries=0)
token = None
if sys.argv[1] == "remote-00":  # a request from an upstream that sampled it out
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"
    token = context.attach(extract({"traceparent": parent}))
for _ in range(int(sys.argv[2])):
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
if token is not None:
    context.detach(token)
modelmeter.flush()
print(json.dumps([
    {"trace_id": f"{s.context.trace_id:032x}", "span_id": f"{s.context.span_id:016x}",
     "attributes": dict(s.attributes)}
    for s in exporter.get_finished_spans() if s.instrumentation_scope.name == "modelmeter"
]))
"""


@pytest.mark.parametrize("sampling", ["100", "10", "off", "remote-00"])
def test_every_call_is_in_calls_whatever_the_apps_sampler_and_its_exporter_gets_what_it_kept(
    mock: MockProviders, tmp_path: Path, sampling: str
) -> None:
    spool = tmp_path / "spool"
    exported = json.loads(_run_app(SAMPLED_APP, mock, spool, sampling, str(CALLS)))
    calls = _ingested(spool, tmp_path / "db.duckdb")
    assert len(calls) == CALLS and {c[3] for c in calls} == {c.response_id for c in mock.calls}
    if sampling == "remote-00":
        assert {(c[0], c[2]) for c in calls} == {("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")}
    else:
        assert len({c[0] for c in calls}) == CALLS and all(c[2] is None for c in calls)  # a trace each
    kept = {
        "100": lambda trace_id: True,
        "10": lambda trace_id: (
            TraceIdRatioBased(0.1).should_sample(None, int(trace_id, 16), "chat").decision.is_sampled()
        ),
        "off": lambda trace_id: False,
        "remote-00": lambda trace_id: False,  # the default sampler follows the unsampled parent
    }[sampling]
    expected = {(c[0], c[1]) for c in calls if kept(c[0])}
    assert {(s["trace_id"], s["span_id"]) for s in exported} == expected
    if sampling == "10":
        assert 0 < len(expected) < CALLS  # the sampler did sample (50 calls at 10%: 5 expected)
    by_span = {c[1]: c for c in calls}
    for span in exported:  # the app's spans carry our GenAI attributes
        attributes = span["attributes"]
        assert (
            attributes["gen_ai.operation.name"] == "chat"
            and attributes["gen_ai.request.model"] == "gpt-4o-mini"
        )
        assert (
            attributes["gen_ai.usage.input_tokens"] > 0
            and attributes["modelmeter.cost_source"] == "genai-prices"
        )
        assert attributes["gen_ai.response.id"] == by_span[span["span_id"]][3]


LIMITED_APP = """
import json, os
import openai
from opentelemetry import trace
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
import modelmeter

exporter = InMemorySpanExporter()
provider = TracerProvider(span_limits=SpanLimits(max_span_attributes=5, max_attribute_length=4))
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
modelmeter.instrument(spool=os.environ["SPOOL"], endpoints=os.environ["ENDPOINTS"])
client = openai.OpenAI(base_url=os.environ["OPENAI_BASE"], api_key="sk-proj-FAKE0000000000", max_retries=0)
client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
modelmeter.flush()
print(json.dumps([dict(s.attributes) for s in exporter.get_finished_spans()]))
"""


def test_the_apps_span_limits_cut_its_span_never_our_record(mock: MockProviders, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    (attributes,) = json.loads(_run_app(LIMITED_APP, mock, spool))
    assert len(attributes) == 5 and all(len(v) <= 4 for v in attributes.values() if isinstance(v, str))
    db = tmp_path / "db.duckdb"
    assert len(_ingested(spool, db)) == 1
    ((model, response_id, tokens, cost_source),) = rows(
        db, "SELECT request_model, response_id, input_tokens, cost_source FROM calls"
    )
    assert (model, response_id, cost_source) == ("gpt-4o-mini", mock.calls[0].response_id, "genai-prices")
    assert mock.calls[0].usage is not None and tokens == mock.calls[0].usage.input_tokens


NO_PROVIDER_APP = """
import os
import openai
from opentelemetry import trace
import modelmeter

modelmeter.instrument(spool=os.environ["SPOOL"], endpoints=os.environ["ENDPOINTS"])
client = openai.OpenAI(base_url=os.environ["OPENAI_BASE"], api_key="sk-proj-FAKE0000000000", max_retries=0)
for _ in range(3):
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)  # we set no global provider
"""


def test_with_no_app_provider_every_call_is_recorded_and_no_provider_is_set(
    mock: MockProviders, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    _run_app(NO_PROVIDER_APP, mock, spool)  # no flush: exit writes the spool out
    calls = _ingested(spool, tmp_path / "db.duckdb")
    assert sorted(c[3] for c in calls) == sorted(c.response_id for c in mock.calls) and len(calls) == 3
