"""The data plane's own failures, as the errors its callers see (gateway/errors.py renders them)."""

from __future__ import annotations

from ..errors import GatewayError


def upstream_unreachable(provider: str) -> GatewayError:
    return GatewayError(
        502,
        "api_error",
        "upstream_unreachable",
        f"The upstream provider '{provider}' could not be reached (ConnectError: no connection). "
        "Retry later; if it persists, an operator must check the provider's base_url and network.",
    )


def upstream_timeout(provider: str, seconds: float) -> GatewayError:
    return GatewayError(
        504,
        "api_error",
        "upstream_timeout",
        f"The upstream provider '{provider}' did not answer within {seconds:g}s (UpstreamTimeout). "
        "Retry later.",
    )


def upstream_broken(provider: str) -> GatewayError:
    return GatewayError(
        502,
        "api_error",
        "upstream_bad_response",
        f"The upstream provider '{provider}' closed the connection or sent an invalid response "
        "(ProtocolError). Retry later.",
    )


def upstream_auth_failed(provider: str) -> GatewayError:
    # The gateway's provider key was refused: not the caller's fault, so not a 401 for them.
    return GatewayError(
        502,
        "api_error",
        "upstream_auth_failed",
        f"The upstream provider '{provider}' refused the gateway's credentials. "
        "An operator must check the provider keys.",
    )


def gone(message: str) -> GatewayError:
    """A service version (or a whole service) that was retired: 410, and it will not return."""
    return GatewayError(410, "invalid_request_error", "service_retired", message)


def body_too_large(limit: int) -> GatewayError:
    return GatewayError(
        413,
        "invalid_request_error",
        "request_too_large",
        f"The request body is larger than this gateway accepts ({limit} bytes). Send a smaller request.",
    )
