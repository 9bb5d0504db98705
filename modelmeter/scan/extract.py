"""Findings in one file's text: SDKs, models, endpoints, credentials, literal keys, workflow tags.

Pure functions over text; every pattern is linear (no nested quantifiers), so a hostile file costs
time in proportion to its size. A URL that does not parse (a template port, a broken IPv6 literal)
is simply not an endpoint. A literal key leaves this module only as its fingerprint and kind.
"""

from __future__ import annotations

import bisect
import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

import orjson

from modelmeter.instrument.keys import credential_of, fingerprint
from modelmeter.instrument.naming import vendor_of_name
from modelmeter.instrument.routes import Endpoint, kind_of
from modelmeter.scan.files import JS_SUFFIXES, PYTHON_SUFFIXES
from modelmeter.scan.vocabulary import (
    JS_SDK_PARTS,
    JS_SDKS,
    MODEL_STRING,
    MODEL_VENDORS,
    NOT_A_MODEL,
    PYTHON_DISTRIBUTIONS,
    PYTHON_SDKS,
    SECRET_NAME_END,
    VERCEL_AI_SDK,
    Sdk,
    credential_named,
)
from modelmeter.vendors import GATEWAYS

MAX_FINDINGS_PER_FILE = 500
# add(kind, value, vendor, route, detail, offset in the text)
_Adder = Callable[[str, str, str | None, str | None, str, int], None]

# kinds of finding
SDK, MODEL, ENDPOINT, CREDENTIAL, LITERAL_KEY, ENV_FILE, WORKFLOW, OTHER_SECRET = (
    "sdk",
    "model",
    "endpoint",
    "credential",
    "literal_key",
    "env_file",
    "workflow_tag",
    "other_secret",
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One fact found in a file. `value` is never a secret: a literal key is its fingerprint."""

    kind: str
    value: str
    vendor: str | None  # model vendor, or gateway name
    route: str | None  # "direct" or "gateway" when the finding says which way calls go
    detail: str  # SDK import spelling, key kind, ...
    path: str
    line: int  # 1-based; a notebook's findings carry the code cell's number
    category: str = "app"
    unit: str = "."
    commit: str | None = None  # --git-history: the commit that added it


_PY_IMPORT = re.compile(
    r"^[ \t]*(?:from[ \t]+([\w.]+)[ \t]+import[ \t]+\(?[ \t]*(\w+)|import[ \t]+([\w.]+))", re.M
)
_JS_IMPORT = re.compile(
    r"""(?:\bfrom|\bimport|\brequire[ \t]*\(|\bimport[ \t]*\()[ \t]*(['"])([@\w][\w@./-]{0,200})\1"""
)
_GATEWAY_CALL = re.compile(
    r"""\bgateway(?:\.(?:languageModel|textEmbeddingModel|imageModel))?[ \t]*\("""
    r"""[ \t]*(['"`])([a-z0-9-]{1,40}/[\w.:-]{1,80})\1"""
)
_URL = re.compile(
    r"""https?://(?:\[[0-9A-Fa-f:.%]{2,60}\]|[^\s'"`<>()\[\]\\/|,;]{1,255})[^\s'"`<>()\[\]{}\\|,;]{0,500}"""
)
_KEY_SHAPE = re.compile(
    r"(?<![\w-])(sk-(?:proj-|ant-|or-|svcacct-|admin-)?[A-Za-z0-9_-]{20,200}|vck_[A-Za-z0-9]{20,200}|"
    r"gsk_[A-Za-z0-9]{20,200}|xai-[A-Za-z0-9]{20,200}|AIza[0-9A-Za-z_-]{35})(?![\w-])"
)
_ASSIGNMENT = re.compile(
    r"""\b([A-Z][A-Z0-9_]{2,80})['"]?[ \t]*(?:=|:|\]\s*=)[ \t]*(['"]?)([A-Za-z0-9_\-.]{16,300})\2"""
)
_KEY_MARKS = ("sk-", "vck_", "gsk_", "xai-", "AIza")
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_GOOGLE_CONTEXT = re.compile(r"gemini|genai|generativelanguage|GOOGLE_API_KEY|GEMINI", re.I)
_WORKFLOW_TAGS = re.compile(
    r"""(?:\bworkflow[ \t]*=[ \t]*|\bMODELMETER_WORKFLOW['"]?[ \t]*[=:][ \t]*|--workflow[ \t=]+)"""
    r"""(['"]?)([\w.-]{2,80})\1"""
)
_PLACEHOLDER = re.compile(r"x{6}|\.\.\.|your|example|placeholder|changeme|dummy|replace|<|test-key", re.I)


class _Lines:
    def __init__(self, text: str) -> None:
        self._starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def __call__(self, offset: int) -> int:
        return bisect.bisect_right(self._starts, offset)


def findings_in(
    text: str,
    relative: Path,
    endpoints: tuple[Endpoint, ...] = (),
    *,
    line: int | None = None,
    suffix: str | None = None,
) -> list[Finding]:
    """Every finding in a file's text (`line` fixes the line, for a notebook cell; `suffix` the
    language, when the file's own suffix does not tell it)."""
    path = relative.as_posix()
    lines = _Lines(text)
    found: list[Finding] = []

    def add(kind: str, value: str, vendor: str | None, route: str | None, detail: str, offset: int) -> None:
        if len(found) < MAX_FINDINGS_PER_FILE:
            found.append(Finding(kind, value, vendor, route, detail, path, line or lines(offset)))

    imports = _sdks(text, relative.name, suffix or relative.suffix.lower(), add)
    _models(text, imports, add)
    _endpoints(text, endpoints, add)
    named_at = _named_keys(text, add) if _credentials(text, add) else set()
    _shaped_keys(text, named_at, add)
    for match in _WORKFLOW_TAGS.finditer(text) if "orkflow" in text or "WORKFLOW" in text else ():
        add(WORKFLOW, match.group(2), None, None, "", match.start())
    if relative.name.startswith(".env"):
        found += _env_file_flag(found, path)
    return found


def _sdks(text: str, name: str, suffix: str, add: _Adder) -> set[str]:
    """SDK imports (Python, JS/TS) and declarations (manifests); returns the JS import specifiers."""
    imports: set[str] = set()
    if suffix in PYTHON_SUFFIXES:
        for match in _PY_IMPORT.finditer(text):
            module = match.group(1) or match.group(3)
            sdk = _python_sdk(module, match.group(2))
            if sdk is not None:
                add(SDK, sdk.name, sdk.gateway or sdk.vendor, _sdk_route(sdk), module, match.start())
    elif suffix in JS_SUFFIXES:
        for match in _JS_IMPORT.finditer(text):
            spec = match.group(2)
            package = _package_of(spec)
            imports.add(spec)
            sdk = JS_SDKS.get(package) or (Sdk(VERCEL_AI_SDK, None) if package in JS_SDK_PARTS else None)
            if sdk is not None:
                add(SDK, sdk.name, sdk.gateway or sdk.vendor, _sdk_route(sdk), spec, match.start())
    elif name == "package.json":
        _package_json(text, add)
    elif name == "pyproject.toml":
        _pyproject(text, add)
    elif name.startswith("requirements") and suffix in (".txt", ".in"):
        _requirements(text, add)
    return imports


def _models(text: str, imports: set[str], add: _Adder) -> None:
    """Model names; `gateway('p/m')` and, in a file on the AI SDK, plain `'p/m'` go through the gateway."""
    uses_ai_sdk = any(_package_of(spec) == "ai" for spec in imports)
    gateway_models: set[int] = set()
    for match in _GATEWAY_CALL.finditer(text) if "gateway" in text else ():
        model = match.group(2)
        gateway_models.add(match.start(1))
        detail = "gateway() model id (Vercel AI Gateway)"
        add(MODEL, model, model.partition("/")[0], "gateway", detail, match.start())
    for match in MODEL_STRING.finditer(text):
        model, prefix = match.group("model"), match.group("vendor")
        if match.start() in gateway_models or model in imports or NOT_A_MODEL.search(model):
            continue
        if prefix and prefix.lower() not in MODEL_VENDORS:
            continue
        vendor = prefix.lower() if prefix else vendor_of_name(model)
        if prefix and uses_ai_sdk:
            add(MODEL, model, vendor, "gateway", "AI SDK model string (Vercel AI Gateway)", match.start())
        else:
            add(MODEL, model, vendor, None, "", match.start())


def _endpoints(text: str, endpoints: tuple[Endpoint, ...], add: _Adder) -> None:
    for match in _URL.finditer(text) if "://" in text else ():
        endpoint = _endpoint(match.group(0), endpoints)
        if endpoint is not None:
            value, kind = endpoint
            add(ENDPOINT, value, kind, "gateway" if kind in GATEWAYS else "direct", "", match.start())


def _credentials(text: str, add: _Adder) -> bool:
    """AI credential variable names, and other secrets' names (counted apart); True if any AI one."""
    named = False
    for start, variable in _secret_names(text):
        credential = credential_named(variable)
        if credential is not None:
            named = True
            route = "gateway" if credential.is_gateway else "direct"
            add(CREDENTIAL, variable, credential.vendor, route, credential.kind, start)
        else:
            add(OTHER_SECRET, variable, None, None, "", start)
    return named


def _named_keys(text: str, add: _Adder) -> set[int]:
    """Literal values assigned to AI credential names (`MISTRAL_API_KEY=...`), keys of any shape;
    returns where each starts."""
    starts: set[int] = set()
    for match in _ASSIGNMENT.finditer(text):
        credential = credential_named(match.group(1))
        secret = match.group(3)
        if credential is None or _placeholder(secret) or secret.startswith(("process.env", "os.environ")):
            continue
        fp, kind = _key(secret, credential.kind)
        vendor = kind.split("-")[0]
        add(LITERAL_KEY, fp, vendor, _key_route(vendor), kind, match.start(3))
        starts.add(match.start(3))
    return starts


def _shaped_keys(text: str, named_at: set[int], add: _Adder) -> None:
    """Literal keys recognised by their shape (`sk-ant-...`, `vck_...`), unless found by name."""
    if not any(mark in text for mark in _KEY_MARKS):
        return
    for match in _KEY_SHAPE.finditer(text):
        secret = match.group(1)
        if match.start(1) in named_at or _placeholder(secret):
            continue
        if secret.startswith("AIza") and not _GOOGLE_CONTEXT.search(_line_text(text, match.start())):
            add(OTHER_SECRET, "Google API key (not near a Gemini name)", None, None, "", match.start())
            continue
        fp, kind = _key(secret, "openai-key" if secret.startswith("sk-") else "bearer-token")
        vendor = kind.split("-")[0]
        add(LITERAL_KEY, fp, vendor, _key_route(vendor), kind, match.start())


def _env_file_flag(found: list[Finding], path: str) -> list[Finding]:
    """An `.env*` file holding literal keys: flagged, and said whether provider keys are among them."""
    held = sorted({f.detail for f in found if f.kind == LITERAL_KEY})
    if not held:
        return []
    provider = any(f.route == "direct" for f in found if f.kind == LITERAL_KEY)
    what = "still storing provider API keys" if provider else "storing gateway keys"
    return [
        Finding(
            ENV_FILE, path, None, "direct" if provider else "gateway", f"{what}: {', '.join(held)}", path, 1
        )
    ]


def with_place(findings: list[Finding], category: str, unit: str) -> list[Finding]:
    return [replace(f, category=category, unit=unit) for f in findings]


def literal_keys_in_line(text: str) -> Iterator[tuple[str, str]]:
    """(fingerprint, kind) of each literal key on one line (git history reads added lines)."""
    for finding in findings_in(text, Path("history.txt")):
        if finding.kind == LITERAL_KEY:
            yield finding.value, finding.detail


def _secret_names(text: str) -> Iterator[tuple[int, str]]:
    """(offset, name) of each upper-case variable name ending like a secret's (`..._API_KEY`)."""
    for match in SECRET_NAME_END.finditer(text):
        start = match.start()
        floor = max(0, start - 80)
        while start > floor and text[start - 1] in _NAME_CHARS:
            start -= 1
        before = text[start - 1] if start else ""
        if text[start].isupper() and not (before.isalnum() or before == "_"):
            yield start, text[start : match.end()]


def _python_sdk(module: str, imported: str | None) -> Sdk | None:
    candidates = [module + "." + imported] if imported else []
    parts = module.split(".")
    candidates += [".".join(parts[:n]) for n in range(len(parts), 0, -1)]
    for candidate in candidates:
        if candidate in PYTHON_SDKS:
            return PYTHON_SDKS[candidate]
    return None


def _package_of(spec: str) -> str:
    parts = spec.split("/")
    return "/".join(parts[:2]) if spec.startswith("@") else parts[0]


def _sdk_route(sdk: Sdk) -> str | None:
    return "gateway" if sdk.gateway else None


def _key_route(vendor: str) -> str:
    return "gateway" if vendor in GATEWAYS else "direct"


def _key(secret: str, named_kind: str) -> tuple[str, str]:
    """(fingerprint, kind): the shape's kind when it tells one, else the variable name's."""
    credential = credential_of({b"authorization": b"Bearer " + secret.encode()}, None, None)
    kind = (
        credential.kind
        if credential is not None and credential.kind not in ("bearer-token", "jwt")
        else named_kind
    )
    return fingerprint(secret), kind


def _placeholder(secret: str) -> bool:
    return bool(_PLACEHOLDER.search(secret)) or len(set(secret)) < 8


def _line_text(text: str, offset: int) -> str:
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    return text[start : end if end >= 0 else len(text)][:2000]


def _endpoint(url: str, endpoints: tuple[Endpoint, ...]) -> tuple[str, str] | None:
    """(scheme://host, vendor or gateway) of a URL naming a known host; None for anything else."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        try:
            port = parts.port
        except ValueError:  # a template such as ${PORT}
            port = None
    except ValueError:  # e.g. an unclosed IPv6 literal
        return None
    if not host or "$" in host.split(".")[-1]:
        return None
    kind = kind_of(parts.scheme, host, port, parts.path, endpoints)
    if kind is None:
        return None
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}", kind


def _package_json(text: str, add: _Adder) -> None:
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        return
    if not isinstance(data, dict):
        return
    for section in ("dependencies", "devDependencies", "peerDependencies", "optionalDependencies"):
        packages = data.get(section)
        if not isinstance(packages, dict):
            continue
        for package in packages:
            sdk = JS_SDKS.get(package)
            if sdk is not None:
                offset = text.find(f'"{package}"')
                add(
                    SDK,
                    sdk.name,
                    sdk.gateway or sdk.vendor,
                    _sdk_route(sdk),
                    f"{section} in package.json",
                    offset,
                )


_REQUIREMENT = re.compile(r"^[ \t]*([A-Za-z0-9][A-Za-z0-9._-]{0,100})", re.M)


def _pyproject(text: str, add: _Adder) -> None:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return
    project = data.get("project") or {}
    requirements = list(project.get("dependencies") or [])
    for extra in (project.get("optional-dependencies") or {}).values():
        requirements += list(extra or [])
    requirements += list(((data.get("tool") or {}).get("poetry") or {}).get("dependencies") or {})
    for requirement in requirements:
        if isinstance(requirement, str):
            _requirement(requirement, text, "pyproject.toml", add)


def _requirements(text: str, add: _Adder) -> None:
    for match in _REQUIREMENT.finditer(text):
        _requirement(match.group(1), text, "requirements", add)


def _requirement(requirement: str, text: str, where: str, add: _Adder) -> None:
    match = _REQUIREMENT.match(requirement)
    if match is None:
        return
    distribution = match.group(1).lower().replace("_", "-")
    module = PYTHON_DISTRIBUTIONS.get(distribution)
    if module is not None:
        sdk = PYTHON_SDKS[module]
        offset = text.find(match.group(1))
        add(SDK, sdk.name, sdk.gateway or sdk.vendor, _sdk_route(sdk), f"declared in {where}", offset)
