"""Knobs: how a mock answer is slowed down or broken, and the two ways to set them.

A knob can be set per server (`MockProviders.configure`) or per request with an `x-mock-<knob>`
header; the header wins. Knobs never ride in the model name: a model name reaches the mock's answer
and every report as the model it names.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

HTTP_FAULTS = frozenset({"429", "500", "503", "529"})
STREAM_FAULTS = frozenset({"error_after_200", "cut", "malformed", "reset"})
FAULTS = HTTP_FAULTS | STREAM_FAULTS

HEADER_PREFIX = "x-mock-"

# name -> (help text, example value); the CLI help and the docs are generated from this table
KNOB_HELP: dict[str, tuple[str, str]] = {
    "latency_ms": ("delay before the response headers are sent", "120"),
    "ttft_ms": ("delay before the first output event (non-streaming: added before the headers)", "300"),
    "chunk_delay_ms": ("delay between content chunks of a stream", "20"),
    "chunks": ("number of content deltas in a stream, and words in any answer (default 5)", "50"),
    "fault": (
        "429 | 500 | 503 | 529: that HTTP error with the vendor's own error body; "
        "error_after_200: a 200, then the vendor's mid-stream error event after half the content "
        "(non-streamed: an error body with status 200; OpenRouter: finish_reason error); "
        "cut: a stream stops after half the content without its terminal marker or usage and the "
        "connection closes cleanly (non-streamed: half the promised body, then close); "
        "malformed: invalid JSON body, or one SSE event with broken JSON; "
        "reset: TCP reset (non-streamed: before any response; streamed: after half the content)",
        "429",
    ),
    "retry_after": (
        "seconds sent as retry-after (and retry-after-ms where the vendor sends it) on errors",
        "0.05",
    ),
    "fail_times": ("apply the fault (default 500) to the first N tries of an identical request only", "2"),
    "gzip": ("gzip the response body (streams too, flushed per event)", "true"),
    "fail_models": (
        "gateways only: model ids that fail upstream, so the fallback list serves the next one "
        "(comma-separated)",
        "openai/gpt-4o,anthropic/claude-sonnet-4.5",
    ),
}


@dataclass(frozen=True)
class Knobs:
    """Per-request behaviour of the mock; None means "not set here" (a lower source or default applies)."""

    latency_ms: float | None = None
    ttft_ms: float | None = None
    chunk_delay_ms: float | None = None
    chunks: int | None = None
    fault: str | None = None
    retry_after: float | None = None
    fail_times: int | None = None
    gzip: bool | None = None
    fail_models: Sequence[str] | None = None

    def __post_init__(self) -> None:
        if self.fault is not None and self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}; expected one of {', '.join(sorted(FAULTS))}")
        if self.chunks is not None and self.chunks < 1:
            raise ValueError("chunks must be at least 1")
        for name in ("latency_ms", "ttft_ms", "chunk_delay_ms", "retry_after", "fail_times"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must not be negative")

    def over(self, base: Knobs) -> Knobs:
        """These knobs laid over `base`: every field set here wins."""
        changes = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) is not None
        }
        return dataclasses.replace(base, **changes)

    @classmethod
    def parse(cls, values: Mapping[str, str]) -> Knobs:
        """Knobs from text values (header form); raises ValueError on an unknown knob."""
        fields = {f.name for f in dataclasses.fields(cls)}
        parsed: dict[str, object] = {}
        for raw_name, raw_value in values.items():
            name = raw_name.strip().lower().replace("-", "_")
            value = raw_value.strip()
            if name not in fields:
                raise ValueError(f"unknown mock knob {raw_name!r}; known: {', '.join(sorted(fields))}")
            if name in ("latency_ms", "ttft_ms", "chunk_delay_ms", "retry_after"):
                parsed[name] = float(value)
            elif name in ("chunks", "fail_times"):
                parsed[name] = int(value)
            elif name == "gzip":
                parsed[name] = value.lower() in ("1", "true", "yes", "on")
            elif name == "fail_models":
                parsed[name] = tuple(m.strip() for m in value.split(",") if m.strip())
            else:
                parsed[name] = value
        return cls(**parsed)  # type: ignore[arg-type]


def knobs_from_headers(headers: Mapping[str, str]) -> Knobs:
    """The `x-mock-*` request headers as knobs (header names are expected lower-case)."""
    return Knobs.parse(
        {k[len(HEADER_PREFIX) :]: v for k, v in headers.items() if k.startswith(HEADER_PREFIX)}
    )
