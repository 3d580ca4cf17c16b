"""What the app meets when a client breaks off or misbehaves while it reads or answers."""

from __future__ import annotations

# granian's own class: the app catches one exception for a client that left, on either engine.
from granian.rsgi import ProtocolClosed

__all__ = ["BodyError", "ProtocolClosed"]


class BodyError(Exception):
    """The request body cannot be read: its framing is broken (a bad chunk, or a chunked body the
    connection ended in the middle of). The front closes the connection after the app's answer."""
