"""The mock's HTTP/1.1 side: one asyncio.Protocol per connection, parsed with httptools.

Keep-alive, pipelining (answers leave in request order), `Expect: 100-continue`, a body size cap
and TCP back-pressure on paced streams; what to answer is the server's (`MockServer.handle`).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import TYPE_CHECKING

import httptools

from .errors import error_body
from .framing import CLOSE, JSON_HEAD, Stream

if TYPE_CHECKING:
    from .server import MockServer

MAX_BODY = 32 * 1024 * 1024


class Request:
    __slots__ = ("auth", "body", "keep_alive", "method", "path", "t0")

    def __init__(
        self, method: bytes, path: bytes, auth: bytes | None, body: bytes, keep_alive: bool, t0: float
    ) -> None:
        self.method = method
        self.path = path
        self.auth = auth
        self.body = body
        self.keep_alive = keep_alive
        self.t0 = t0


class Connection(asyncio.Protocol):
    """One keep-alive connection. Responses leave strictly in request order (pipelining-safe):
    while an async answer (latency, paced stream) is in flight, later requests wait in a queue."""

    def __init__(self, state: MockServer) -> None:
        self.state = state
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.auth: bytes | None = None
        self.body: list[bytes] = []
        self.body_size = 0
        self.t0 = 0.0
        self.expect_continue = False
        self.queue: deque[Request | None] = deque()  # None = too-large body marker
        self.busy = False
        self.closed = False
        self.close_when_idle = False
        self.task: asyncio.Task[None] | None = None
        self.write_ready: asyncio.Future[None] | None = None

    # ---- asyncio.Protocol ---------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.state.conns.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.state.conns.discard(self)
        if self.task is not None:
            self.task.cancel()
        if self.write_ready is not None and not self.write_ready.done():
            self.write_ready.set_result(None)

    def pause_writing(self) -> None:
        if self.write_ready is None or self.write_ready.done():
            self.write_ready = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self.write_ready is not None and not self.write_ready.done():
            self.write_ready.set_result(None)

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # The request was answered as plain HTTP/1.1; an upgraded stream cannot continue.
            self.close_when_idle = True
            if not self.busy:
                self.close()
        except httptools.HttpParserError:
            if not self.busy and self.transport is not None:
                body = b"bad request"
                self.transport.write(
                    b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\ncontent-length: %d\r\n"
                    b"connection: close\r\n\r\n%s" % (len(body), body)
                )
            self.close()

    # ---- httptools callbacks -------------------------------------------------

    def on_message_begin(self) -> None:
        self.url = b""
        self.auth = None
        self.body = []
        self.body_size = 0
        self.expect_continue = False
        self.t0 = time.monotonic()

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        # Length checks first so most headers skip the lower() copy.
        if len(name) == 13 and name.lower() == b"authorization":
            self.auth = value
        elif len(name) == 6 and name.lower() == b"expect":
            self.expect_continue = value.lower() == b"100-continue"

    def on_headers_complete(self) -> None:
        # Interleaving "100 Continue" with a pipelined answer in flight would corrupt the stream.
        if self.expect_continue and not self.busy and self.transport is not None:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self.body_size += len(body)
        if self.body_size <= MAX_BODY:
            self.body.append(body)

    def on_message_complete(self) -> None:
        if self.body_size > MAX_BODY:
            req = None
        else:
            path = self.url.split(b"?", 1)[0]
            body = self.body[0] if len(self.body) == 1 else b"".join(self.body)
            req = Request(
                self.parser.get_method(), path, self.auth, body, self.parser.should_keep_alive(), self.t0
            )
        if self.busy:
            self.queue.append(req)
        else:
            self.dispatch(req)

    # ---- dispatch ------------------------------------------------------------

    def dispatch(self, req: Request | None) -> None:
        state = self.state
        if req is None:
            self.write(self._too_large(), keep_alive=False)
            return
        pending: Stream | None = None
        if state.latency <= 0:
            out = state.handle(req)
            if isinstance(out, bytes):
                self.write(out, req.keep_alive)
                return
            if state.interval <= 0:
                self.write(out.joined(), req.keep_alive)
                return
            pending = out  # a paced stream needs the event loop
        self.busy = True
        if self.transport is not None:
            self.transport.pause_reading()
        self.task = asyncio.get_running_loop().create_task(self._answer_later(req, pending))

    async def _answer_later(self, req: Request, out: bytes | Stream | None) -> None:
        state = self.state
        try:
            if out is None:
                await asyncio.sleep(state.latency)
                out = state.handle(req)
            if isinstance(out, bytes):
                self.write(out, req.keep_alive)
            elif state.interval <= 0:
                self.write(out.joined(), req.keep_alive)
            else:
                await self._paced(out, req.keep_alive)
        except (asyncio.CancelledError, ConnectionError):
            self.close()
            return
        finally:
            self.task = None
        self.busy = False
        # Drain requests that arrived pipelined behind this one, in order.
        while self.queue and not self.busy and not self.closed:
            self.dispatch(self.queue.popleft())
        if not self.busy and not self.closed:
            if self.close_when_idle:
                self.close()
            elif self.transport is not None:
                self.transport.resume_reading()

    async def _paced(self, out: Stream, keep_alive: bool) -> None:
        transport = self.transport
        if transport is None:
            return
        transport.write(out.head + out.opening)
        for i, step in enumerate(out.steps):
            if i:
                await asyncio.sleep(self.state.interval)
            if self.closed:
                return
            transport.write(step)
            if self.write_ready is not None and not self.write_ready.done():
                await self.write_ready  # honour TCP back-pressure on slow readers
        if not self.closed:
            self.write(out.tail, keep_alive)

    def write(self, data: bytes, keep_alive: bool) -> None:
        if self.closed or self.transport is None:
            return
        self.transport.write(data)
        if not keep_alive:
            self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.transport is not None:
                self.transport.close()  # flushes buffered responses first

    def _too_large(self) -> bytes:
        body = error_body("Request body too large.", "invalid_request_error")
        return b"".join(
            (
                JSON_HEAD[413],
                self.state.date(),
                b"content-length: %d\r\n" % len(body),
                CLOSE,
                body,
            )
        )
