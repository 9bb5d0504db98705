"""Gemini `generateContent` / `streamGenerateContent` on the Gemini API and Vertex AI.

The model is in the URL (`models/{model}:verb`). `promptTokenCount` includes cached input;
`candidatesTokenCount` excludes thinking, so output = candidates + thoughts. Built-in tools (Search
grounding, URL context, code execution) add `toolUsePromptTokenCount`: the prompt the tools fed the
model, outside `promptTokenCount` and billed as input (docs/spec-notes.md), so input = prompt +
tool-use prompt, and the tool-use share is kept apart. Streams have no
terminal marker (EOF ends them) and repeat cumulative usage on every chunk: rather than decode each
chunk, the family keeps a reference to the last chunk that mentions usage or a finish reason and
decodes it once when the stream ends. Without `alt=sse` a stream is one JSON array, read as JSON.
"""

from __future__ import annotations

from typing import Any

from modelmeter import semconv as sc
from modelmeter.instrument.providers.base import (
    Facts,
    WireFamily,
    as_int,
    as_str,
    dig,
    error_type_of,
    has_text,
    loads,
)

_VERBS = (":generateContent", ":streamGenerateContent", ":embedContent", ":batchEmbedContents")


class Gemini(WireFamily):
    NAME = "gemini"
    OPERATION = "generate_content"
    ENDS_AT_EOF = True

    def matches(self, path: str) -> bool:
        return path.endswith(_VERBS) and "/models/" in path

    def request_model(self, path: str, body: dict[str, Any] | None) -> str | None:
        tail = path.rpartition("/models/")[2]
        return tail.partition(":")[0] or None

    def streaming(self, path: str, body: dict[str, Any] | None) -> bool:
        return path.endswith(":streamGenerateContent")

    def operation(self, path: str) -> str:
        return "embeddings" if "mbedContent" in path else self.OPERATION

    def read_json(self, doc: Any, facts: Facts) -> None:
        for item in doc if isinstance(doc, list) else (doc,):
            if isinstance(item, dict):
                self._read_chunk(item, facts)

    def read_event(self, event: str | None, data: bytes, facts: Facts) -> bool:
        # pending = [first chunk, last chunk with usage, last chunk with a finish reason]
        state = facts.pending
        if state is None:
            state = facts.pending = [None, None, None]
        if state[0] is None:
            state[0] = data
        if b'"usageMetadata"' in data or b'"finishReason"' in data or b'"error"' in data:
            state[1] = data
        if b'"finishReason"' in data or b'"error"' in data:
            state[2] = data
        output = facts.wants_output and (has_text(data, b'"text"') or b'"functionCall"' in data)
        if output and facts.output_parts is not None:
            for part in dig(loads(data), "candidates", 0, "content", "parts") or ():
                if isinstance(part, dict) and not part.get("thought"):
                    facts.capture(part.get("text"))
        return output

    def finish_stream(self, facts: Facts) -> None:
        state, facts.pending = facts.pending, None
        if state is None:
            return
        for data in dict.fromkeys(d for d in state if d is not None):
            doc = loads(data)
            if isinstance(doc, dict):
                self._read_chunk(doc, facts)

    def _read_chunk(self, doc: dict[str, Any], facts: Facts) -> None:
        facts.response_model = as_str(doc.get("modelVersion")) or facts.response_model
        facts.response_id = as_str(doc.get("responseId")) or facts.response_id
        if "error" in doc:
            facts.error_type = error_type_of(doc.get("error"))
        finish = as_str(dig(doc, "candidates", 0, "finishReason"))
        if finish:
            facts.finish_reason = finish
        block = dig(doc, "promptFeedback", "blockReason")
        if isinstance(block, str):
            facts.finish_reason = block
        usage = doc.get("usageMetadata")
        if isinstance(usage, dict):
            thoughts = usage.get("thoughtsTokenCount") or 0
            prompt = as_int(usage.get("promptTokenCount"))
            tool_use = as_int(usage.get("toolUsePromptTokenCount"))
            if tool_use is not None:
                facts.extra(sc.MM_TOOL_USE_PROMPT_TOKENS, tool_use)
            facts.set_usage(
                prompt + (tool_use or 0) if prompt is not None else None,
                (usage.get("candidatesTokenCount") or 0) + thoughts,
                cache_read=usage.get("cachedContentTokenCount"),
                reasoning=thoughts,
            )
        if facts.output_parts is not None and not facts.output_parts:
            for part in dig(doc, "candidates", 0, "content", "parts") or ():
                if isinstance(part, dict) and not part.get("thought"):
                    facts.capture(part.get("text"))


FAMILY = Gemini()
