"""HTTP error bodies in each vendor's own shape (what the real API sends for that status)."""

from __future__ import annotations

from typing import Any

_MESSAGES = {
    400: "Invalid request",
    404: "Not found",
    429: "Rate limit reached for requests. Please try again later.",
    500: "The server had an error while processing your request.",
    503: "The service is temporarily unavailable.",
    529: "Overloaded",
}
_OPENAI_TYPES = {400: "invalid_request_error", 404: "invalid_request_error", 429: "requests"}
_OPENAI_CODES = {429: "rate_limit_exceeded", 404: "unknown_url"}
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    503: "api_error",
    529: "overloaded_error",
}
_GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    529: "UNAVAILABLE",
}
_VERCEL_TYPES = {400: "invalid_request_error", 404: "model_not_found", 429: "rate_limit_exceeded"}


def error_body(
    style: str,
    status: int,
    message: str | None = None,
    *,
    request_id: str | None = None,
    retry_after: float | None = None,
) -> dict[str, Any]:
    """The JSON body `style` (a vendor surface) sends with HTTP `status`."""
    text = message or _MESSAGES.get(status, "Error")
    if style == "anthropic":
        body: dict[str, Any] = {
            "type": "error",
            "error": {"type": _ANTHROPIC_TYPES.get(status, "api_error"), "message": text},
        }
        return body | ({"request_id": request_id} if request_id else {})
    if style == "gemini":
        error: dict[str, Any] = {
            "code": status,
            "message": text,
            "status": _GOOGLE_STATUS.get(status, "UNKNOWN"),
        }
        if status == 429:
            delay = f"{retry_after:g}s" if retry_after is not None else "19s"
            error["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}]
        return {"error": error}
    if style == "mistral":
        if status == 429:
            return {"message": "Requests rate limit exceeded"}
        return {
            "object": "error",
            "message": text,
            "type": _OPENAI_TYPES.get(status, "internal_server_error"),
            "param": None,
            "code": str(status),
        }
    if style == "cohere":
        return {"id": request_id or "mock", "message": text}
    if style == "openrouter":
        return {"error": {"code": status, "message": text, "metadata": {"provider_name": None}}}
    if style == "vercel":
        kind = _VERCEL_TYPES.get(status, "internal_server_error")
        return {"error": {"message": text, "type": kind, "param": None, "code": kind}}
    kind = _OPENAI_TYPES.get(status, "server_error")
    return {"error": {"message": text, "type": kind, "param": None, "code": _OPENAI_CODES.get(status)}}
