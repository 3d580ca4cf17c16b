"""`server.max_requests_per_connection` where the engine has no such setting (granian): the worker
counts each connection's requests by the client's address and port, and the answer to the last
one carries `connection: close`, after which the engine closes the connection.

The worker is not told when a connection closes, so counts are forgotten in generations: a count
untouched for one to two periods is dropped. A period outlasts the longest a live connection can
wait between answers and requests (the keep-alive and header timeouts), so a count is only lost
for a connection whose one request outlasted it (a long stream); it then counts from zero again.
A flood of short connections starts a new generation early, which bounds the memory.
"""

from __future__ import annotations

import asyncio

from ..config.schema import ServerConfig

CLOSE = ("connection", "close")
MAX_TRACKED = 16384  # connections per generation


class ConnectionCounts:
    __slots__ = ("current", "enabled", "limit", "period_s", "previous")

    def __init__(self, server: ServerConfig) -> None:
        self.limit = server.max_requests_per_connection
        # Without keep-alive every connection closes after its answer anyway.
        self.enabled = self.limit > 0 and server.keepalive_timeout_s > 0
        self.period_s = server.keepalive_timeout_s + server.header_timeout_s
        self.current: dict[str, int] = {}
        self.previous: dict[str, int] = {}

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.enabled:
            loop.call_later(self.period_s, self._next_generation, loop)

    def _next_generation(self, loop: asyncio.AbstractEventLoop) -> None:
        self.previous, self.current = self.current, {}
        loop.call_later(self.period_s, self._next_generation, loop)

    def last(self, client: str) -> bool:
        """Count a request on `client`'s connection: True when it is the last one it may make."""
        current = self.current
        n = current.get(client) or self.previous.get(client, 0)
        n += 1
        if n >= self.limit:
            current.pop(client, None)
            self.previous.pop(client, None)
            return True
        if len(current) >= MAX_TRACKED:
            self.previous, self.current = current, {}
            current = self.current
        current[client] = n
        return False
