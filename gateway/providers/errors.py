"""OpenAI-shaped errors for translated answers: what a provider's error becomes for the caller.

Every adapter maps its provider's error body to `{"error": {message, type, param, code}}` with
the upstream status kept, so retry logic (status) and key-health logic (type/code) see one
vocabulary whatever the provider.
"""

from __future__ import annotations

from ..errors import GatewayError, openai_json, openai_sse

# Status -> (type, code) when the provider's own error says nothing more specific.
BY_STATUS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "invalid_request"),
    401: ("authentication_error", "invalid_api_key"),
    402: ("insufficient_quota", "insufficient_quota"),
    403: ("permission_error", "permission_denied"),
    404: ("invalid_request_error", "not_found"),
    408: ("api_error", "timeout"),
    409: ("invalid_request_error", "conflict"),
    413: ("invalid_request_error", "request_too_large"),
    422: ("invalid_request_error", "invalid_request"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
    500: ("api_error", "internal_error"),
    502: ("api_error", "bad_gateway"),
    503: ("api_error", "service_unavailable"),
    504: ("api_error", "timeout"),
    529: ("api_error", "overloaded"),
}


def by_status(status: int) -> tuple[str, str]:
    found = BY_STATUS.get(status)
    if found is not None:
        return found
    return ("invalid_request_error", "invalid_request") if status < 500 else ("api_error", "upstream_error")


def provider_error(
    status: int, provider: str, message: str, type: str | None = None, code: str | None = None
) -> tuple[int, bytes]:
    default_type, default_code = by_status(status)
    err = GatewayError(status, type or default_type, code or default_code, f"{message} (from {provider})")
    return status, openai_json(err)


def unreadable(provider: str, status: int) -> tuple[int, bytes]:
    """An answer that is not the provider's documented JSON: the upstream is at fault, so 502."""
    err = GatewayError(
        502,
        "api_error",
        "upstream_bad_response",
        f"The upstream provider '{provider}' answered {status} with a body aigw could not read. "
        "Retry later; if it persists, the provider's API may have changed.",
    )
    return 502, openai_json(err)


def stream_error(message: str, type: str = "api_error", code: str = "upstream_stream_error") -> bytes:
    """An SSE event the OpenAI SDKs raise on; used once a stream's headers are gone."""
    return openai_sse(GatewayError(502, type, code, message))


STREAM_TRUNCATED = "upstream_stream_truncated"


def truncated(provider: str) -> bytes:
    return stream_error(
        f"The upstream provider '{provider}' ended the stream before it was complete. Retry the request.",
        code=STREAM_TRUNCATED,
    )


def malformed(provider: str) -> bytes:
    return stream_error(
        f"The upstream provider '{provider}' sent a stream event aigw could not read. Retry the request.",
        code="upstream_bad_response",
    )
