"""Every third-party module modelmeter imports comes with a plain `pip install modelmeter`.

The class of bug this guards: `serve` imported google.rpc, which only the test extras installed, so
the suite passed and the README's install failed. Here each import in modelmeter/ is resolved to the
distribution that provides it, and that distribution must be among the base requirements or what they
require in turn. Imports under `try: ... except ImportError` are optional by construction; the demo's
app drives the provider SDKs of the `demo` extra (the demo checks for them before it starts).
"""

from __future__ import annotations

import ast
import re
import sys
from importlib import metadata
from pathlib import Path

PACKAGE = Path(__file__).parents[2] / "modelmeter"
NEEDS_AN_EXTRA = {"demo/app.py": "demo", "demo/examples/meeting_notes.py": "demo"}


def _imports(tree: ast.Module) -> set[str]:
    """Top-level names of absolute imports, except those guarded by `except ImportError` or made only
    for the type checker (`if TYPE_CHECKING:`)."""
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
            for h in node.handlers
        ):
            guarded |= {id(child) for stmt in node.body for child in ast.walk(stmt)}
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            guarded |= {id(child) for stmt in node.body for child in ast.walk(stmt)}
    names = set()
    for node in ast.walk(tree):
        if id(node) in guarded:
            continue
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names |= {f"{node.module}.{alias.name}" for alias in node.names}  # `from google import genai`
    return names


def _distribution_of(module: str, providers: dict[str, list[str]]) -> str | None:
    """The distribution providing `module` (namespace packages like google.* by their longest match)."""
    parts = module.split(".")
    for length in range(len(parts), 0, -1):
        name = ".".join(parts[:length])
        spec_root = name.split(".")[0]
        if spec_root in sys.stdlib_module_names or spec_root in ("modelmeter", "__future__"):
            return None
        if length == 1 and spec_root in providers and len(providers[spec_root]) == 1:
            return providers[spec_root][0]
        if length > 1:
            where = name.replace(".", "/")
            for dist in providers.get(spec_root, []):
                files = {str(f) for f in metadata.distribution(dist).files or []}
                if f"{where}.py" in files or any(f.startswith(f"{where}/") for f in files):
                    return dist
    raise AssertionError(f"no installed distribution provides {module}")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _closure(extras: tuple[str, ...] = ()) -> set[str]:
    """modelmeter's requirements (base, plus `extras`) and everything they require, as installed."""
    seen: set[str] = set()
    todo = [("modelmeter", extras)]
    while todo:
        name, wanted = todo.pop()
        try:
            requirements = metadata.requires(name) or []
        except metadata.PackageNotFoundError:  # an optional dependency of a dependency, not installed
            continue
        for requirement in requirements:
            spec, _, marker = requirement.partition(";")
            dist = re.split(r"[\s<>=!~\[(]", spec.strip(), maxsplit=1)[0]
            extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)", marker)
            if extra and extra.group(1) not in wanted:
                continue
            if marker and not extra and "python_version" not in marker and "sys_platform" not in marker:
                continue
            nested = re.search(r"\[([^\]]+)\]", spec)
            if _normal(dist) not in seen:
                seen.add(_normal(dist))
                todo.append((dist, tuple(nested.group(1).split(",")) if nested else ()))
    return seen


def test_every_import_is_installed_by_the_base_requirements() -> None:
    providers = metadata.packages_distributions()
    base = _closure()
    missing = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        allowed = _closure((NEEDS_AN_EXTRA[relative],)) if relative in NEEDS_AN_EXTRA else base
        for module in _imports(ast.parse(path.read_text())):
            dist = _distribution_of(module, providers)
            if dist is not None and _normal(dist) not in allowed:
                missing.setdefault(f"{dist} (import {module})", []).append(relative)
    assert not missing, f"imported but not installed by pip install modelmeter: {missing}"
