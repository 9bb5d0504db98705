"""Fixtures for the shim's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.recorder import Recorder

import modelmeter
from modelmeter.mock import MockProviders


@pytest.fixture
def recorder(mock: MockProviders) -> Iterator[Recorder]:
    """The shim installed with an in-memory exporter (no spool), classifying the mock's ports."""
    rec = Recorder()
    modelmeter.instrument(tracer_provider=rec.provider, spool=False, endpoints=mock.endpoints)
    yield rec
    modelmeter.uninstrument()
