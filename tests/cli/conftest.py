"""Fixtures of the CLI tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.report_data import build_synthetic_db, write_policy


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A MODELMETER_HOME with a synthetic calls database and a tier policy that fits it."""
    directory = tmp_path_factory.mktemp("home")
    build_synthetic_db(directory)
    write_policy(directory)
    return directory
