"""The scan tests' corpus: small codebases shaped like real ones (never collected as tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

CORPUS = Path(__file__).parent / "corpus"
collect_ignore_glob = ["corpus/*"]


@pytest.fixture
def corpus() -> Path:
    """The directory holding one codebase per subdirectory, and hostile/ (strings that broke scans)."""
    return CORPUS
