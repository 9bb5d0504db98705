"""The other stages the demo assembles, checked in one place so that a missing one fails by name.

The demo is only an assembly: the mock providers, the shim and its clock seam, ingest, and the
reports with their renderers. `require()` looks every one of them up before anything runs and raises
`DemoError` naming each part that is missing, rather than producing a half-made week or numbers
from anywhere but the real pipeline.
"""

from __future__ import annotations

import importlib
import importlib.util


class DemoError(RuntimeError):
    """The demo cannot run: a missing part, or a home it must not overwrite."""


# (what the part is, module, attribute): the demo runs only when every one exists
REQUIRED: tuple[tuple[str, str, str], ...] = (
    ("mock providers", "modelmeter.mock", "MockProviders"),
    ("mock knobs", "modelmeter.mock", "Knobs"),
    ("the shim", "modelmeter.instrument", "instrument"),
    ("the shim's clock seam", "modelmeter.instrument.clock", "now_ns"),
    ("ingest", "modelmeter.ingest", "ingest_paths"),
    ("the reports", "modelmeter.reports", "build_report"),
    ("the report renderers", "modelmeter.reports.render", "render"),
    ("the terminal renderer", "modelmeter.reports.render", "render_terminal"),
    ("the headline formatter", "modelmeter.reports.render.format", "headline_value"),
)


def _exists(module: str, attribute: str) -> bool:
    try:
        return hasattr(importlib.import_module(module), attribute)
    except ImportError:
        return False


def require(parts: tuple[tuple[str, str, str], ...] = REQUIRED) -> None:
    """Return quietly when every part exists; otherwise raise DemoError listing the missing ones."""
    missing = [
        f"{what} ({module}.{attribute})"
        for what, module, attribute in parts
        if not _exists(module, attribute)
    ]
    if missing:
        raise DemoError(
            "cannot run: these parts of modelmeter are missing, so no numbers were produced: "
            + "; ".join(missing)
        )


# The provider SDKs the demo's app drives (the `demo` extra); the app runs in worker processes, so a
# missing one is found here, before anything is written, rather than as a worker's ImportError.
SDKS = ("openai", "anthropic", "google.genai", "mistralai")
INSTALL_HINT = "pip install 'modelmeter[demo]' (in a clone: pip install -e '.[demo]')"


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package is missing, or a module blocked in sys.modules
        return False


def require_sdks() -> None:
    """Raise DemoError with the install command when a provider SDK the demo drives is missing."""
    missing = [module for module in SDKS if not _installed(module)]
    if missing:
        raise DemoError(f"the demo needs the provider SDKs {', '.join(missing)}: {INSTALL_HINT}")
