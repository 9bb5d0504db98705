"""The demo company's week as data: who calls which model how, and what went wrong when.

Northwind Logistics runs six AI workflows, one per team. The tables below are the whole story;
`plan_week` expands them into a timeline of planned calls, and the runner replays that timeline
through the real SDKs against the mock providers. Change a row here and the week changes with it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

COMPANY = "Northwind Logistics"
SERVICE = "northwind-platform"
SEED = 20261128

# Tiers as the tiers policy (examples/tiers.toml) defines them: what a workflow needs, not what it pays.
FRONTIER, STANDARD, ECONOMY, MEDIA = "frontier", "standard", "economy", "media"


@dataclass(frozen=True)
class Target:
    """Where one call goes: an SDK family, the model name that SDK is given, and the route it takes.

    `sdk` is how the app talks (openai, anthropic, google, mistral); `vendor` is the mock server that
    answers (a provider, or a gateway: vercel, openrouter). Through a gateway the model name is the
    gateway's `provider/model` form and `fallback_models` is the gateway's own fallback list.
    """

    sdk: str
    vendor: str
    model: str
    operation: str = "chat"
    fallback_models: tuple[str, ...] = ()

    @property
    def route(self) -> str:
        return "gateway" if self.vendor in GATEWAYS else "direct"


GATEWAYS = frozenset({"vercel", "openrouter"})


@dataclass(frozen=True)
class Workflow:
    """One row of the company's AI usage.

    `fallback` is the app's own failover: tried when `target` still fails after the SDK's retries.
    `migrated_to` and `migrate_on_weekday` move the workflow to a gateway in the middle of the week.
    """

    name: str
    team: str
    tier: str
    calls_per_weekday: int
    streaming_share: float
    prompt_words: int
    max_tokens: int
    target: Target
    fallback: Target | None = None
    migrated_to: Target | None = None
    migrate_on_weekday: int | None = None  # index into the week's full weekdays (0..3)


_SDK_OF_VENDOR = {"openai": "openai", "anthropic": "anthropic", "gemini": "google", "mistral": "mistral"}


def direct(vendor: str, model: str, operation: str = "chat") -> Target:
    """A provider's own API, called with its own SDK and key."""
    return Target(_SDK_OF_VENDOR[vendor], vendor, model, operation)


def via(gateway: str, model: str, *fallback_models: str) -> Target:
    """A gateway's OpenAI-compatible API (through the openai SDK), with the gateway's fallback list."""
    return Target("openai", gateway, model, fallback_models=fallback_models)


# fmt: off
WORKFLOWS: tuple[Workflow, ...] = (
    #        name                     team           tier     /weekday stream words max_out  target
    Workflow("meeting-notes",         "operations",  STANDARD,  90,    0.8,  1800,  700,
             direct("anthropic", "claude-haiku-4-5"), fallback=direct("openai", "gpt-4.1-mini"),
             migrated_to=via("vercel", "anthropic/claude-haiku-4.5"), migrate_on_weekday=2),
    Workflow("ticket-classification", "support",     ECONOMY,  110,    0.0,   260,   20,
             direct("mistral", "mistral-small-latest")),
    Workflow("field-extraction",      "finance",     ECONOMY,  120,    0.0,   900,  250,
             direct("openai", "gpt-4.1-nano")),
    Workflow("code-synthesis",        "engineering", FRONTIER,  65,    0.6,  1400, 1500,
             direct("gemini", "gemini-2.5-pro"), fallback=via("openrouter", "openai/gpt-5")),
    Workflow("client-proposals",      "sales",       FRONTIER,  22,    1.0,  2400, 2000,
             via("openrouter", "anthropic/claude-sonnet-4.5", "openai/gpt-5", "google/gemini-2.5-pro")),
    Workflow("product-images",        "marketing",   MEDIA,     14,    0.0,    60,    0,
             direct("openai", "gpt-image-1", operation="images")),
)
# fmt: on

WEEKEND_SHARE = 0.12  # a weekend day carries this share of a weekday's calls
# Relative call volume by hour of day (UTC): office hours with a lunch dip.
HOURLY_WEIGHT: tuple[float, ...] = (
    (0.1,) * 7 + (0.5, 1.0, 1.4, 1.5, 1.3, 0.9, 1.2, 1.5, 1.4, 1.2, 0.9, 0.5) + (0.3, 0.2, 0.2, 0.1, 0.1)
)


@dataclass(frozen=True)
class Incident:
    """A stretch of simulated time during which one mock vendor misbehaves (mock `Knobs` fields)."""

    title: str
    vendor: str
    weekday: int  # index into the week's full weekdays (0..3: every week has at least four)
    start_hour: float
    hours: float
    knobs: dict[str, object] = field(default_factory=dict)


INCIDENTS: tuple[Incident, ...] = (
    Incident(
        "Anthropic API overloaded (529) for two hours",
        vendor="anthropic",
        weekday=0,
        start_hour=13.0,
        hours=2.0,
        knobs={"fault": "529", "retry_after": 0.01},
    ),
    Incident(
        "OpenAI rate-limit burst (429, served on retry)",
        vendor="openai",
        weekday=1,
        start_hour=9.5,
        hours=1.0,
        knobs={"fault": "429", "fail_times": 1, "retry_after": 0.01},
    ),
    Incident(
        "OpenAI rate limit exhausted (429 on every try)",
        vendor="openai",
        weekday=1,
        start_hour=10.5,
        hours=0.5,
        knobs={"fault": "429", "retry_after": 0.01},
    ),
    Incident(
        "Claude Sonnet failing upstream at OpenRouter (its fallback list serves)",
        vendor="openrouter",
        weekday=3,
        start_hour=10.0,
        hours=3.0,
        knobs={"fail_models": ("anthropic/claude-sonnet-4.5",)},
    ),
)


# The mock servers the app talks to, and how each behaves on a normal day: real delays of a few
# milliseconds (so the week replays in well under a minute), gateways a little slower than going direct.
VENDORS: tuple[str, ...] = ("openai", "anthropic", "gemini", "mistral", "vercel", "openrouter")
MOCK_BEHAVIOUR: dict[str, dict[str, object]] = {
    "openai": {"latency_ms": 6, "ttft_ms": 10, "chunk_delay_ms": 0.5, "chunks": 16},
    "anthropic": {"latency_ms": 8, "ttft_ms": 14, "chunk_delay_ms": 0.5, "chunks": 16},
    "gemini": {"latency_ms": 9, "ttft_ms": 16, "chunk_delay_ms": 0.5, "chunks": 16},
    "mistral": {"latency_ms": 4, "ttft_ms": 6, "chunk_delay_ms": 0.5, "chunks": 8},
    "vercel": {"latency_ms": 20, "ttft_ms": 14, "chunk_delay_ms": 0.5, "chunks": 16},
    "openrouter": {"latency_ms": 24, "ttft_ms": 16, "chunk_delay_ms": 0.5, "chunks": 16},
}


@dataclass(frozen=True)
class PlannedCall:
    """One call of the timeline: when (simulated), which workflow, and how."""

    at: datetime
    workflow: Workflow
    target: Target
    streaming: bool


@dataclass(frozen=True)
class Week:
    """The simulated week: the seven days ending at `end`, and the calendar its events are placed on."""

    start: datetime
    end: datetime

    @classmethod
    def ending(cls, end: datetime) -> Week:
        end = end.astimezone(UTC).replace(second=0, microsecond=0)
        return cls(start=end - timedelta(days=7), end=end)

    def dates(self) -> list[date]:
        """Calendar days (UTC) the week touches; the first and last are partial."""
        first = self.start.date()
        return [first + timedelta(days=n) for n in range((self.end.date() - first).days + 1)]

    def full_weekdays(self) -> list[datetime]:
        """Midnights of the Monday-to-Friday days that lie wholly inside the week (always four or more)."""
        midnights = [datetime.combine(day, time(), UTC) for day in self.dates() if day.weekday() < 5]
        return [m for m in midnights if m >= self.start and m + timedelta(days=1) <= self.end]

    def migration_moment(self, workflow: Workflow) -> datetime | None:
        if workflow.migrated_to is None or workflow.migrate_on_weekday is None:
            return None
        return self.full_weekdays()[workflow.migrate_on_weekday]

    def incident_window(self, incident: Incident) -> tuple[datetime, datetime]:
        start = self.full_weekdays()[incident.weekday] + timedelta(hours=incident.start_hour)
        return start, start + timedelta(hours=incident.hours)


def plan_week(week: Week, workflows: tuple[Workflow, ...] = WORKFLOWS, seed: int = SEED) -> list[PlannedCall]:
    """Every call of the week in time order, drawn deterministically from the workflow table."""
    rng = random.Random(seed)
    calls: list[PlannedCall] = []
    for day in week.dates():
        midnight = datetime.combine(day, time(), UTC)
        scale = WEEKEND_SHARE if day.weekday() >= 5 else 1.0
        for workflow in workflows:
            migrated_at = week.migration_moment(workflow)
            for _ in range(round(workflow.calls_per_weekday * scale)):
                hour = rng.choices(range(24), HOURLY_WEIGHT)[0]
                at = midnight + timedelta(hours=hour, seconds=rng.uniform(0, 3600))
                streaming = rng.random() < workflow.streaming_share
                if not week.start <= at < week.end:
                    continue
                moved = migrated_at is not None and at >= migrated_at
                target = workflow.migrated_to if moved and workflow.migrated_to else workflow.target
                calls.append(PlannedCall(at, workflow, target, streaming))
    calls.sort(key=lambda call: call.at)
    return calls
