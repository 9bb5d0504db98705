"""instrument/: the shim that runs inside users' apps (imports nothing heavy)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def instrument(**options: Any) -> None:
    """Not built yet."""


def uninstrument() -> None:
    """Not built yet."""


def flush(timeout_s: float = 5.0) -> bool:
    """Not built yet."""
    return True


@contextmanager
def tag(**tags: Any) -> Iterator[None]:
    """Not built yet."""
    yield
