"""What the app's thread reads of a request body (instrument/request.py)."""

from __future__ import annotations

import orjson

from modelmeter.instrument.request import MAX_PARSED_REQUEST_BYTES, decode_body


def test_a_request_too_large_to_decode_still_gives_its_model_and_stream_flag() -> None:
    prompt = "x" * (MAX_PARSED_REQUEST_BYTES + 10)
    body = orjson.dumps(
        {"messages": [{"role": "user", "content": prompt}], "model": "gpt-4o", "stream": True}
    )
    assert decode_body(body) == {"model": "gpt-4o", "stream": True}
