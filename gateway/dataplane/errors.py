"""The data plane's own failures, as the errors its callers see (gateway/errors.py renders them)."""

from __future__ import annotations

from ..calllog.trace import CLIENT_CLOSED, CLIENT_CLOSED_CODE
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


def body_timeout(seconds: float) -> GatewayError:
    return GatewayError(
        408,
        "invalid_request_error",
        "request_timeout",
        f"The request body did not arrive in time (cut off after {seconds:.1f}s): it came too slowly "
        "or stopped short of its Content-Length. Send the whole body at once.",
    )


def body_framing() -> GatewayError:
    return GatewayError(
        400,
        "invalid_request_error",
        "invalid_body_framing",
        "The chunked request body ended before its last chunk or was malformed (chunk trailers are "
        "not accepted). Send the body with a Content-Length or as well-formed chunks.",
    )


def client_closed_mid_body() -> GatewayError:
    # Answered, should the caller still be listening (a half-closed connection).
    return GatewayError(
        CLIENT_CLOSED,
        "invalid_request_error",
        CLIENT_CLOSED_CODE,
        "The connection ended before the request body reached its Content-Length.",
    )
