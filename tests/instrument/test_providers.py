"""Wire families read usage and events as each vendor sends them (instrument/providers/)."""

from __future__ import annotations

import orjson

from modelmeter.instrument.providers import FAMILIES, family_for
from modelmeter.instrument.providers.base import Facts


def test_anthropic_stream_usage_is_made_inclusive_and_later_counts_win() -> None:
    family = family_for("/v1/messages")
    assert family is not None
    facts = Facts()
    start = {
        "type": "message_start",
        "message": {
            "id": "m",
            "model": "claude-haiku-4-5",
            "usage": {
                "input_tokens": 10,
                "cache_read_input_tokens": 100,
                "cache_creation_input_tokens": 5,
                "output_tokens": 1,
            },
        },
    }
    family.read_event("message_start", orjson.dumps(start), facts)
    delta = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 42}}
    family.read_event("message_delta", orjson.dumps(delta), facts)
    family.read_event("message_stop", b'{"type":"message_stop"}', facts)
    assert (facts.input_tokens, facts.output_tokens, facts.cache_read_tokens, facts.cache_write_tokens) == (
        115,
        42,
        100,
        5,
    )
    assert facts.terminal and facts.finish_reason == "end_turn"


def test_openai_chat_chunks_are_decoded_only_when_they_can_say_something_new() -> None:
    family = family_for("/v1/chat/completions")
    assert family is not None
    facts = Facts()
    first = (
        b'{"id":"c1","model":"gpt-4o","choices":[{"delta":{"role":"assistant","content":""}}],"usage":null}'
    )
    assert family.read_event(None, first, facts) is False  # role-only chunk: not the first token
    assert facts.response_model == "gpt-4o"
    not_json = b'{"choices":[{"delta":{"content":"Hi"},"finish_reason":null}],"usage":null, BROKEN'
    assert family.read_event(None, not_json, facts) is True  # output, and never decoded
    family.read_event(None, b'{"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2}}', facts)
    family.read_event(None, b"[DONE]", facts)
    assert (facts.input_tokens, facts.output_tokens, facts.terminal) == (7, 2, True)


def test_a_vendor_route_is_skimmed_without_other_vendors_extras() -> None:
    family = FAMILIES[0]
    assert family.NAME == "openai.chat" and family.SKIM is not None
    assert b'"x_groq"' not in (family.skim_probes("openai") or ())
    assert b'"x_groq"' in (family.skim_probes("groq") or ())
    assert family.skim_probes(None) == family.SKIM and family.skim_probes("vercel") == family.SKIM
