"""What one front worker is told: the app to serve, where to listen, and the limits every
connection is held to. Plain values, so the node can hand them to a worker process as JSON."""

from __future__ import annotations

import msgspec


class Limits(msgspec.Struct, frozen=True, kw_only=True):
    """Per-connection limits and timeouts on heads and connections, enforced by the front (the
    app never sees a client that breaks them); a body's are the app's. Times in seconds."""

    header_timeout_s: float = 10.0  # first byte of a request head → its end
    idle_timeout_s: float = 10.0  # a new connection's first byte
    keepalive_timeout_s: float = 10.0  # an answered connection's next request; 0: no keep-alive
    send_timeout_s: float = 60.0  # a caller that takes nothing of what waits for it
    max_header_bytes: int = 64 * 1024  # request line and headers; above: 431
    max_requests_per_connection: int = 1000  # 0: no limit
    shutdown_timeout_s: float = 30.0  # SIGTERM → in-flight requests and streams finish within this


class FrontSettings(msgspec.Struct, frozen=True, kw_only=True):
    app: str  # "module:attr" of the RSGI application
    host: str = "127.0.0.1"
    port: int = 8080
    backlog: int = 2048
    limits: Limits = Limits()

    def encode(self) -> str:
        return msgspec.json.encode(self).decode()

    @classmethod
    def decode(cls, text: str) -> FrontSettings:
        return msgspec.json.decode(text, type=cls)
