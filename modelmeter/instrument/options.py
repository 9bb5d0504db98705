"""`instrument()` options: each keyword also has an environment variable, and the keyword wins."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelmeter.instrument.spool import DEFAULT_ROTATE_BYTES, DEFAULT_ROTATE_SECONDS

DEFAULT_CAPTURE_MAX_BYTES = 16 << 10
_TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Options:
    tracer_provider: Any = None  # an SDK TracerProvider to use instead of the global or our own
    spool: bool = True  # write our spans to the spool
    spool_dir: Path = Path(".modelmeter/spool")
    rotate_bytes: int = DEFAULT_ROTATE_BYTES
    rotate_seconds: float = DEFAULT_ROTATE_SECONDS
    endpoints: str | None = None  # MODELMETER_ENDPOINTS
    capture_content: bool = False
    capture_max_bytes: int = DEFAULT_CAPTURE_MAX_BYTES
    service_name: str | None = None
    workflow: str | None = None
    team: str | None = None
    tier: str | None = None
    run: str | None = None


def resolve(**given: Any) -> Options:
    """Options from keywords over `MODELMETER_*` variables over defaults; unknown keywords fail."""
    env = os.environ
    home = Path(env.get("MODELMETER_HOME") or ".modelmeter")
    spool = given.pop("spool", None)
    spool_dir = given.pop("spool_dir", None)
    if isinstance(spool, (str, os.PathLike)):
        spool_dir, spool = spool, True
    values: dict[str, Any] = {
        "spool": True if spool is None else bool(spool),
        "spool_dir": Path(spool_dir or env.get("MODELMETER_SPOOL") or home / "spool"),
        "rotate_bytes": int(env.get("MODELMETER_SPOOL_ROTATE_BYTES") or DEFAULT_ROTATE_BYTES),
        "rotate_seconds": float(env.get("MODELMETER_SPOOL_ROTATE_SECONDS") or DEFAULT_ROTATE_SECONDS),
        "endpoints": env.get("MODELMETER_ENDPOINTS"),
        "capture_content": env.get("MODELMETER_CAPTURE_CONTENT", "").lower() in _TRUE,
        "capture_max_bytes": int(env.get("MODELMETER_CAPTURE_MAX_BYTES") or DEFAULT_CAPTURE_MAX_BYTES),
        "service_name": env.get("OTEL_SERVICE_NAME") or _program_name(),
    }
    if env.get("MODELMETER_SPOOL", "").lower() in ("0", "off", "false", "none"):
        values["spool"] = False
        values["spool_dir"] = home / "spool"
    values.update({k: v for k, v in given.items() if v is not None})
    return Options(**values)


def _program_name() -> str:
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else ""
    name = Path(argv0).stem if argv0 and argv0 != "-c" else ""
    return name or "python"
