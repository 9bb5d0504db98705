"""Fixtures of the lake tests: a synthetic spool, a local S3-compatible server, one SparkSession."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.lake import POLICY, synthetic_spool


@pytest.fixture(scope="session")
def spool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20k synthetic calls over ten days as four closed spool files (read-only: copy before changing)."""
    return synthetic_spool(tmp_path_factory.mktemp("spool"), 20_000, days=10, files=4)


@pytest.fixture(scope="session")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("policy") / "tiers.toml"
    path.write_text(POLICY)
    return path


@pytest.fixture(scope="session")
def s3_server() -> Iterator[dict[str, str]]:
    """moto's S3 server on 127.0.0.1; yields the AWS_* variables that point the lake (and the CLI) at it."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        "AWS_ACCESS_KEY_ID": "modelmeter-test",
        "AWS_SECRET_ACCESS_KEY": "modelmeter-test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield env
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()


@pytest.fixture(scope="session")
def spark_engine() -> Iterator[object]:
    """One SparkSession in local[2] for the whole test session (it takes seconds to start)."""
    if shutil.which("java") is None:
        pytest.fail("the Spark tests need Java: ./scripts/test installs Debian's default-jre-headless")
    from modelmeter.lake.rollup import SparkEngine

    engine = SparkEngine("local[2]")
    yield engine
    engine.stop()
