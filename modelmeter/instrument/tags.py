"""`modelmeter.tag(...)`: attribution that rides on contextvars into every call made inside it.

Scopes nest: an inner tag overrides the keys it names and inherits the rest. asyncio tasks copy the
context when they are created, so tasks started inside a tag carry it. Plain threads start with an
empty context and do NOT inherit tags; `ThreadPoolExecutor.submit` does not either. To carry tags
into a thread, run the work in a copy of the caller's context:
`executor.submit(contextvars.copy_context().run, fn, *args)`. `MODELMETER_WORKFLOW`, `_TEAM`,
`_TIER` and `_RUN` give process-wide defaults that every scope starts from.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import itertools
import os
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

from modelmeter import semconv

F = TypeVar("F", bound=Callable[..., Any])

_STANDARD = {
    "workflow": semconv.MM_WORKFLOW,
    "team": semconv.MM_TEAM,
    "tier": semconv.MM_TIER,
    "run": semconv.MM_RUN,
}
_ENV = {
    "workflow": "MODELMETER_WORKFLOW",
    "team": "MODELMETER_TEAM",
    "tier": "MODELMETER_TIER",
    "run": "MODELMETER_RUN",
}

# The innermost `tag` scope: (serial, tags, the span attributes they make); the serial tells scopes
# apart for correlation, and the attributes are made once per scope, not once per call.
Scope = tuple[int, Mapping[str, str], tuple[tuple[str, str], ...]]
_current: contextvars.ContextVar[Scope | None] = contextvars.ContextVar("modelmeter_tags", default=None)
_serials = itertools.count(1)


def _attributes(tags: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """(attribute name, value) pairs for tags; a workflow also names the GenAI workflow."""
    pairs = [(attribute_name(key), value) for key, value in tags.items()]
    if tags.get("workflow"):
        pairs.append((semconv.GEN_AI_WORKFLOW_NAME, tags["workflow"]))
    return tuple(pairs)


_defaults: Scope = (0, MappingProxyType({}), ())


def load_defaults(overrides: Mapping[str, Any] | None = None) -> None:
    """Process-wide defaults from the environment, then from `instrument()` options."""
    global _defaults
    values = {key: os.environ[var] for key, var in _ENV.items() if os.environ.get(var)}
    values.update({k: str(v) for k, v in (overrides or {}).items() if v is not None})
    _defaults = (0, MappingProxyType(values), _attributes(values))


def current_tags() -> Mapping[str, str]:
    return (_current.get() or _defaults)[1]


# The innermost scope as it is (None outside any `tag`), read on the app's thread with no Python
# call; `serial_of` and `attributes_of` read it later, wherever the call is described.
current_scope: Callable[[], Scope | None] = _current.get


def serial_of(scope: Scope | None) -> int:
    """The scope's serial; 0 outside any `tag`."""
    return scope[0] if scope is not None else 0


def attributes_of(scope: Scope | None) -> tuple[tuple[str, str], ...]:
    """The span attribute pairs of a scope; outside any `tag`, those of the process-wide defaults."""
    return (scope or _defaults)[2]


def attribute_name(key: str) -> str:
    return _STANDARD.get(key) or semconv.MM_TAG_PREFIX + key


class tag:
    """Context manager and decorator (sync and async) that adds tags to calls made inside it."""

    def __init__(
        self,
        workflow: str | None = None,
        team: str | None = None,
        tier: str | None = None,
        run: str | None = None,
        **extra: Any,
    ) -> None:
        given = {"workflow": workflow, "team": team, "tier": tier, "run": run, **extra}
        self._tags = {k: str(v) for k, v in given.items() if v is not None}
        self._tokens: list[contextvars.Token[Scope | None]] = []

    def _enter(self) -> contextvars.Token[Scope | None]:
        merged = dict(current_tags())
        merged.update(self._tags)
        return _current.set((next(_serials), MappingProxyType(merged), _attributes(merged)))

    def __enter__(self) -> tag:
        self._tokens.append(self._enter())
        return self

    def __exit__(self, *_exc: object) -> None:
        _current.reset(self._tokens.pop())

    async def __aenter__(self) -> tag:
        return self.__enter__()

    async def __aexit__(self, *_exc: object) -> None:
        self.__exit__()

    def __call__(self, fn: F) -> F:
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                token = self._enter()
                try:
                    return await fn(*args, **kwargs)
                finally:
                    _current.reset(token)

            return run_async  # type: ignore[return-value]

        @functools.wraps(fn)
        def run_sync(*args: Any, **kwargs: Any) -> Any:
            token = self._enter()
            try:
                return fn(*args, **kwargs)
            finally:
                _current.reset(token)

        return run_sync  # type: ignore[return-value]
