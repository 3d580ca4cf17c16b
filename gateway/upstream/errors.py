"""Typed failures of an upstream exchange; the proxy maps each to one OpenAI error.

Nothing else escapes the client: OSError, ssl and parser errors are translated where they
happen, so callers never need to know which library raised what.
"""

from __future__ import annotations

__all__ = ["ConnectError", "ProtocolError", "UpstreamError", "UpstreamTimeout"]


class UpstreamError(Exception):
    """Base of every failure the upstream client raises."""


class ConnectError(UpstreamError):
    """No connection: DNS failure, refused, unreachable, TLS handshake or certificate failure."""


class UpstreamTimeout(UpstreamError):
    """The connect timeout, or the read timeout (longest silence while waiting for bytes)."""


class ProtocolError(UpstreamError):
    """The connection broke or the server spoke bad HTTP: reset, premature close, malformed response."""
