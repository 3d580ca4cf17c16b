"""One worker's listener: its connections and the app's tasks, the sweep that holds every
connection to its time limits, and the drain that ends them on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import Callable, Coroutine
from typing import Any

from .connection import HttpConnection
from .settings import FrontSettings, Limits

log = logging.getLogger("aigw.front")

# The app's optional hook for the front's own refusals: (path, status, code, message) → the
# answer's headers and body in the caller's format. Without it, a JSON body of the same facts.
Refusal = Callable[[str, int, str, str], tuple[list[tuple[str, str]], bytes]]


def plain_refusal(path: str, status: int, code: str, message: str) -> tuple[list[tuple[str, str]], bytes]:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return [("content-type", "application/json")], body


class FrontServer:
    """Serves `app` (an RSGI application object) on this worker's event loop."""

    def __init__(self, app: Any, limits: Limits, loop: asyncio.AbstractEventLoop) -> None:
        self.app: Callable[[Any, Any], Coroutine[Any, Any, None]] = getattr(app, "__rsgi__", app)
        self.refusal: Refusal = getattr(app, "front_error", None) or plain_refusal
        self.limits = limits
        self.loop = loop
        self.connections: set[HttpConnection] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.draining = False
        # What a stream's send returns while its client keeps up: awaiting it never waits.
        self.ready: asyncio.Future[None] = loop.create_future()
        self.ready.set_result(None)
        self._listener: asyncio.Server | None = None
        self._sweeper: asyncio.TimerHandle | None = None
        # Timeouts are checked at a quarter of the shortest, at most once a second.
        timeouts = (
            limits.header_timeout_s,
            limits.idle_timeout_s,
            limits.keepalive_timeout_s,
            limits.send_timeout_s,
        )
        self._every = min(1.0, *(t / 4 for t in timeouts if t > 0))

    def __call__(self) -> HttpConnection:
        return HttpConnection(self)

    async def listen(self, settings: FrontSettings) -> None:
        """Listen on the node's port beside the node's other workers (SO_REUSEPORT: the kernel
        spreads new connections over them)."""
        self._listener = await self.loop.create_server(
            self,
            settings.host,
            settings.port,
            family=socket.AF_UNSPEC,
            backlog=settings.backlog,
            reuse_port=True,
        )
        self._sweeper = self.loop.call_later(self._every, self._sweep)

    def _sweep(self) -> None:
        now = self.loop.time()
        for conn in list(self.connections):
            conn.check(now)
        self._sweeper = self.loop.call_later(self._every, self._sweep)

    async def drain(self) -> None:
        """Stop accepting; let requests in flight finish (streams included) within the
        shutdown timeout, closing each connection after its last answer; then cut what is left."""
        self.draining = True
        if self._listener is not None:
            self._listener.close()
        for conn in list(self.connections):
            conn.shutdown()
        deadline = self.loop.time() + self.limits.shutdown_timeout_s
        while (self.connections or self.tasks) and self.loop.time() < deadline:
            await asyncio.sleep(0.05)
        if self.connections or self.tasks:
            log.warning(
                "shutdown timeout: cutting %d connection(s) and %d request(s) still in flight",
                len(self.connections),
                len(self.tasks),
            )
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.abort()
        # The app's requests see their connection gone; those that still do not end are cancelled.
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=1.0)
        for task in list(self.tasks):
            task.cancel()
        if self._sweeper is not None:
            self._sweeper.cancel()
