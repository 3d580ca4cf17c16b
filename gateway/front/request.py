"""One request as the app sees it: RSGI's scope and HTTP protocol object in one object.

The app is called as `app.__rsgi__(request, request)`: it reads the scope's attributes (`method`,
`path`, `headers`, `client` …) and calls the protocol's methods (`await proto()` or
`async for chunk in proto` for the body; `response_bytes`, `response_str`, `response_empty`,
`response_stream` for the answer; `client_disconnect()`) on the same object, which saves an
allocation per request. What granian offers beyond this (files, websockets) the data plane does
not use and this front does not serve.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from .errors import BodyError, ProtocolClosed

if TYPE_CHECKING:
    from .connection import HttpConnection

# A request's unread body above this many bytes pauses reading from its connection until the
# app takes it (a slow app, or one that never reads, costs bounded memory).
BODY_HIGH_WATER = 64 * 1024


class Headers(dict[str, str]):
    """The request's headers as RSGI's `scope.headers` reads: lower-case names → values (the first
    value when a name repeats)."""

    __slots__ = ()


class Request:
    __slots__ = (
        "_chunks",
        "_complete",
        "_conn",
        "_continue",
        "_disconnected",
        "_ended",
        "_error",
        "_size",
        "_waiter",
        "_whole",
        "client",
        "finished",
        "headers",
        "http_version",
        "keep_alive",
        "method",
        "path",
        "query_string",
        "scheme",
        "server",
        "started",
        "streaming",
    )

    # RSGI scope attributes that never change.
    proto = "http"
    rsgi_version = "1.5"
    authority = None  # HTTP/2's :authority; an HTTP/1 request names its host in `headers`

    def __init__(
        self,
        conn: HttpConnection,
        method: str,
        path: str,
        query_string: str,
        headers: Headers,
        http_version: str,
        keep_alive: bool,
        expect_continue: bool,
        complete: bool,
    ) -> None:
        self._conn = conn
        self.method = method
        self.path = path
        self.query_string = query_string
        self.headers = headers
        self.http_version = http_version
        self.client = conn.client
        self.server = conn.local
        self.scheme = conn.scheme
        self.keep_alive = keep_alive  # what the client asked for (llhttp's verdict)
        self._continue = expect_continue  # a `100 Continue` is owed when the app reads the body
        self._complete = complete  # the whole body has arrived
        self._ended = False  # the iteration has given its closing empty chunk
        self._chunks: list[bytes] = []
        self._size = 0
        self._error: BaseException | None = None  # raised by the next read
        self._waiter: asyncio.Future[Any] | None = None
        self._whole = False  # the waiter wants the whole body, not the next chunk
        self._disconnected: asyncio.Future[None] | None = None
        self.started = False  # a response has begun (nothing else may)
        self.finished = False  # the response is complete
        self.streaming = False

    # ------------------------------------------------------------------ the body, for the app

    def __call__(self) -> asyncio.Future[bytes]:
        """The whole body, once it has arrived."""
        fut: asyncio.Future[bytes] = self._conn.loop.create_future()
        if self._error is not None:
            fut.set_exception(self._error)
        elif self._complete:
            fut.set_result(self._take())
        else:
            self._wait(fut, whole=True)
        return fut

    def __aiter__(self) -> Request:
        return self

    def __anext__(self) -> asyncio.Future[bytes]:
        """What has arrived since the last step, as soon as there is anything. As granian's does,
        a whole body ends with one empty chunk, after which the iteration stops at once."""
        if self._ended:
            raise StopAsyncIteration
        fut: asyncio.Future[bytes] = self._conn.loop.create_future()
        if self._chunks:
            fut.set_result(self._take())
        elif self._error is not None:
            fut.set_exception(self._error)
        elif self._complete:
            self._ended = True
            fut.set_result(b"")
        else:
            self._wait(fut, whole=False)
        return fut

    def client_disconnect(self) -> asyncio.Future[None]:
        """Done when the client's connection closes."""
        fut = self._disconnected
        if fut is None:
            fut = self._disconnected = self._conn.loop.create_future()
            if self._conn.lost:
                fut.set_result(None)
        return fut

    def _wait(self, fut: asyncio.Future[Any], whole: bool) -> None:
        self._waiter, self._whole = fut, whole
        if whole and self._size > BODY_HIGH_WATER:
            self._conn.body_taken()  # it is all wanted: read on
        if self._continue:
            self._continue = False
            self._conn.send_continue(self)

    def _take(self) -> bytes:
        chunks = self._chunks
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        if self._size > BODY_HIGH_WATER:
            self._conn.body_taken()
        self._size = 0
        return data

    # ------------------------------------------------------------------ the body, from the connection

    def feed(self, chunk: bytes) -> None:
        self._chunks.append(chunk)
        self._size += len(chunk)
        waiter = self._live_waiter()
        if waiter is not None and not self._whole:
            self._waiter = None
            waiter.set_result(self._take())
        elif self._size > BODY_HIGH_WATER and waiter is None:
            self._conn.body_pending()

    def end(self) -> None:
        self._complete = True
        waiter = self._live_waiter()
        if waiter is not None:
            self._waiter = None
            if not self._chunks and not self._whole:
                self._ended = True
            waiter.set_result(self._take())

    def fail(self, exc: BodyError | ProtocolClosed) -> None:
        """The body will not arrive: the next read (or the one waiting) raises `exc`."""
        if self._error is None:
            self._error = exc
        waiter = self._live_waiter()
        if waiter is not None:
            self._waiter = None
            waiter.set_exception(exc)

    def _live_waiter(self) -> asyncio.Future[Any] | None:
        """The read waiting for the body, unless it was given up (its task was cancelled: the
        app's body deadline, or the worker stopping)."""
        waiter = self._waiter
        if waiter is not None and waiter.done():
            self._waiter = waiter = None
        return waiter

    def gone(self) -> None:
        """The connection is closed."""
        self.fail(ProtocolClosed("the client's connection closed"))
        if self._disconnected is not None and not self._disconnected.done():
            self._disconnected.set_result(None)

    @property
    def complete(self) -> bool:
        return self._complete

    # ------------------------------------------------------------------ the answer

    def response_bytes(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self._start()
        self._conn.answer(self, status, headers, body)

    def response_str(self, status: int, headers: list[tuple[str, str]], body: str) -> None:
        self.response_bytes(status, headers, body.encode())

    def response_empty(self, status: int, headers: list[tuple[str, str]]) -> None:
        self.response_bytes(status, headers, b"")

    def response_stream(self, status: int, headers: list[tuple[str, str]]) -> StreamTransport:
        """Start an answer whose body follows in parts; it ends when the app's call returns."""
        self._start()
        self.streaming = True
        return self._conn.start_stream(self, status, headers)

    def _start(self) -> None:
        if self.started:
            raise RuntimeError("this request has been answered already")
        self.started = True
        self._continue = False  # answered without reading: the client sends no body


class StreamTransport:
    """A streamed answer's body, sent part by part. `send_bytes` writes at once and returns what
    to await before sending more: nothing to wait for while the client keeps up, and a future
    that completes when it has caught up once its connection's buffer is full (backpressure that
    reaches the upstream: the relay stops reading from it until then)."""

    __slots__ = ("_chunked", "_conn")

    def __init__(self, conn: HttpConnection, chunked: bool) -> None:
        self._conn = conn
        self._chunked = chunked  # HTTP/1.1: chunked framing; HTTP/1.0: the body ends at close

    def send_bytes(self, data: bytes) -> asyncio.Future[None]:
        conn = self._conn
        if conn.lost:
            fut: asyncio.Future[None] = conn.loop.create_future()
            fut.set_exception(ProtocolClosed("the client's connection closed"))
            return fut
        if data:
            conn.write(b"%x\r\n%b\r\n" % (len(data), data) if self._chunked else data)
        return conn.writable

    def send_str(self, data: str) -> asyncio.Future[None]:
        return self.send_bytes(data.encode())
