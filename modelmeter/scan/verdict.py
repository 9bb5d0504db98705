"""Per deployable unit: what its application code uses, and whether it is on a gateway, direct, or both.

Only application code counts towards a verdict (tests, docs, fixtures, vendored and generated code
are counted apart). A provider is *direct* when the unit holds its credential (a variable or a
literal key) or names its API host; a provider SDK alone is direct only when nothing in the unit
points at a gateway, because the SDK then reads its provider's key from the environment.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from modelmeter.scan.extract import (
    CREDENTIAL,
    ENDPOINT,
    ENV_FILE,
    LITERAL_KEY,
    MODEL,
    OTHER_SECRET,
    SDK,
    Finding,
)
from modelmeter.scan.files import APP, Unit

GATEWAY, DIRECT, MIXED, UNCLEAR, NO_AI = "gateway", "direct keys", "mixed", "unclear", "no AI calls found"


@dataclass(slots=True)
class UnitSummary:
    path: str
    name: str
    verdict: str
    gateways: list[str]
    direct: dict[str, list[str]]  # vendor -> the evidence that it is called directly
    sdks: list[str]
    models: list[str]
    endpoints: list[str]
    credentials: list[str]  # AI credential variable names
    literal_keys: int
    env_files: list[str]
    other_secrets: int
    outside_app: dict[str, int] = field(default_factory=dict)  # category -> findings

    @property
    def still_direct(self) -> str:
        """`vendor (evidence, ...)` for each provider still called directly."""
        return "; ".join(
            f"{vendor} ({', '.join(evidence)})" for vendor, evidence in sorted(self.direct.items())
        )


def summarise(unit: Unit, findings: list[Finding]) -> UnitSummary:
    app = [f for f in findings if f.category == APP]
    gateways = sorted(
        {f.vendor for f in app if f.route == "gateway" and f.vendor and f.kind != MODEL}
        | {"vercel" for f in app if f.route == "gateway" and f.kind == MODEL}
    )
    direct: dict[str, list[str]] = {}
    for f in app:
        if f.route == "direct" and f.vendor and f.kind in (CREDENTIAL, LITERAL_KEY, ENDPOINT):
            evidence = {CREDENTIAL: f.value, LITERAL_KEY: f"literal {f.detail}", ENDPOINT: f.value}[f.kind]
            _add(direct, f.vendor, evidence)
    if not gateways:
        for f in app:
            if f.kind == SDK and f.vendor and f.route is None:
                _add(direct, f.vendor, f"{f.value} SDK")
    ai = [f for f in app if f.kind in (SDK, MODEL, ENDPOINT, CREDENTIAL, LITERAL_KEY)]
    if gateways and direct:
        verdict = MIXED
    elif gateways:
        verdict = GATEWAY
    elif direct:
        verdict = DIRECT
    else:
        verdict = UNCLEAR if ai else NO_AI
    outside = Counter(f.category for f in findings if f.category != APP and f.kind != OTHER_SECRET)
    return UnitSummary(
        path=unit.path,
        name=unit.name,
        verdict=verdict,
        gateways=gateways,
        direct=direct,
        sdks=_distinct(app, SDK),
        models=_distinct(app, MODEL),
        endpoints=_distinct(app, ENDPOINT),
        credentials=_distinct(app, CREDENTIAL),
        literal_keys=len({f.value for f in findings if f.kind == LITERAL_KEY}),
        env_files=_distinct(app, ENV_FILE),
        other_secrets=len({f.value for f in findings if f.kind == OTHER_SECRET}),
        outside_app=dict(sorted(outside.items())),
    )


def _add(direct: dict[str, list[str]], vendor: str, evidence: str) -> None:
    listed = direct.setdefault(vendor, [])
    if evidence not in listed:
        listed.append(evidence)


def _distinct(findings: list[Finding], kind: str) -> list[str]:
    return sorted({f.value for f in findings if f.kind == kind})
