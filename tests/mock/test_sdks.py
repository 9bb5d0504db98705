"""The real provider SDKs parse every mock wire family and get the content and usage the mock sent."""

from __future__ import annotations

import pytest
from support.sdk_calls import CASES, PARAMS

from modelmeter.mock import MockProviders


@pytest.mark.parametrize(("name", "stream", "is_async"), PARAMS)
async def test_sdk_reads_the_content_and_usage_the_mock_served(
    mock: MockProviders, fake_keys: dict[str, str], name: str, stream: bool, is_async: bool
) -> None:
    case = CASES[name]
    content, usage = await case.run(mock, fake_keys, stream, is_async)
    served = mock.calls[-1]
    assert (served.vendor, served.operation, served.http_status, served.fault) == (
        case.vendor,
        case.operation,
        200,
        None,
    )
    assert served.streaming is stream
    assert served.usage is not None and served.usage == usage
    assert served.usage.input_tokens > 0
    assert content == served.content
    if case.operation in ("chat", "responses", "generate_content"):
        assert len(content.split()) == 5
    assert len(mock.calls) == 1
