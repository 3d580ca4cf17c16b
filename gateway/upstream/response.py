"""A response being received: status and headers at once, the body buffered or streamed.

The connection feeds body bytes in (`_feed`, `_finish`, `_fail`); the consumer takes them out
(`read`, `async for`), or has them pushed to it as they arrive (`pipe`). When the buffer passes
`limit` the connection stops reading from the socket until the consumer has drained it, so a
slow consumer costs constant memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .errors import ProtocolError, UpstreamError
from .head import split_head

if TYPE_CHECKING:
    from types import TracebackType

    from .connection import Connection

__all__ = ["Headers", "Response", "Sink"]

# A consumer that takes the body chunk by chunk in the connection's read callback: None to go on,
# or an awaitable it has to wait for first (reading pauses until the next `pipe`).
Sink = Callable[[bytes], Awaitable[Any] | None]


class Headers(dict[str, str]):
    """Lower-case names → values (repeated names joined with ", "); lookups work in any case."""

    __slots__ = ()

    def __missing__(self, key: str) -> str:
        low = key.lower()
        if low == key:
            raise KeyError(key)
        return dict.__getitem__(self, low)

    def get(self, key: str, default: Any = None) -> Any:
        # No exception on a miss: providers' optional headers are looked up on every response.
        value = dict.get(self, key)
        if value is None:
            low = key.lower()
            if low != key:
                return dict.get(self, low, default)
            return default
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and dict.__contains__(self, key.lower())


def _decode_headers(raw: list[tuple[bytes, bytes]]) -> Headers:
    h = Headers()
    for name, value in raw:
        k = name.decode("latin-1").lower()
        v = value.decode("latin-1")
        h[k] = f"{h[k]}, {v}" if k in h else v
    return h


class Response:
    """Status and headers of an upstream response; the body is read with `read()` or `async for`.

    The connection goes back to the pool as soon as the whole body has arrived (it is buffered
    here by then). `release()` — or leaving `async with` — closes it instead if the body is
    still incomplete, so an abandoned response never hands a half-read connection to another.
    """

    __slots__ = (
        "_body",
        "_buffered",
        "_chunks",
        "_conn",
        "_done",
        "_error",
        "_head",
        "_headers",
        "_limit",
        "_loop",
        "_piped",
        "_sink",
        "_waiter",
        "raw_head",
        "status",
        "watched",
    )

    status: int
    raw_head: bytes  # the status line and header lines as received, without the blank line
    watched: bool  # a header named in Pool(watch_headers=…) came with this response

    def __init__(self, loop: asyncio.AbstractEventLoop, conn: Connection, limit: int) -> None:
        self._loop = loop
        self._conn: Connection | None = conn  # None once the body is complete or abandoned
        self._limit = limit
        self._head: asyncio.Future[None] = loop.create_future()  # set when headers are in
        self.status = 0
        self.raw_head = b""
        self.watched = False
        self._headers: Headers | None = None
        self._chunks: list[bytes] = []
        self._buffered = 0
        self._done = False  # the whole body has been received
        self._error: UpstreamError | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._body: bytes | None = None
        self._sink: Sink | None = None  # set while piping: chunks go to it, not to _chunks
        self._piped: asyncio.Future[Any] | None = None

    @property
    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        """The headers as received: original case and order."""
        return split_head(self.raw_head)

    @property
    def headers(self) -> Headers:
        h = self._headers
        if h is None:
            h = self._headers = _decode_headers(self.raw_headers)
        return h

    def __repr__(self) -> str:
        return f"<Response {self.status}>"

    # ------------------------------------------------------------------ connection side

    def _feed(self, chunk: bytes) -> None:
        sink = self._sink
        if sink is not None:  # piping: straight to the consumer, in this read callback
            try:
                wait = sink(chunk)
            except Exception as exc:
                self._sink_failed(exc)
                return
            if wait is not None:
                self._sink_waits(wait)
            return
        self._chunks.append(chunk)
        self._buffered += len(chunk)
        if self._buffered > self._limit and self._conn is not None:
            self._conn.pause()
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    def _finish(self) -> None:
        # The connection has already detached itself; nothing more will be fed.
        self._done = True
        self._conn = None
        if self._sink is not None:
            self._end_pipe(None, None)
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    def _fail(self, exc: UpstreamError) -> None:
        self._conn = None
        if not self._head.done():
            self._head.set_exception(exc)
            return
        self._error = exc
        if self._sink is not None:
            self._end_pipe(None, exc)
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    # ------------------------------------------------------------------ consumer side

    async def _wait(self) -> None:
        # Cancelling the waiting task must not leave a half-read connection behind.
        self._waiter = self._loop.create_future()
        try:
            await self._waiter
        except BaseException:
            self.release()
            raise
        finally:
            self._waiter = None

    def complete_body(self) -> bytes | None:
        """The whole body if it has all arrived already (the common case for a small answer:
        it came with the headers), else None: then `await read()`. Saves a coroutine."""
        if self._body is not None:
            return self._body
        if not self._done:
            return None
        chunks = self._chunks
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self._buffered = 0
        self._body = body
        return body

    async def read(self, max_bytes: int | None = None, within_s: float | None = None) -> bytes:
        """The whole body (Content-Length, chunked or until close); cached after the first call.
        A body longer than `max_bytes` fails with a ProtocolError, one not whole `within_s` from
        now with an UpstreamTimeout: either closes the connection and drops what was read."""
        if self._body is not None:
            return self._body
        conn = self._conn
        if conn is not None:
            conn.unlimit()  # the caller wants it all: no backpressure against ourselves
            if within_s is not None:
                conn.bound_body(within_s)  # on the connection's read timer: none of its own
        while not self._done:
            if self._error is not None:
                self._chunks.clear()
                raise self._error
            if max_bytes is not None and self._buffered > max_bytes and self._conn is not None:
                self._conn.close(ProtocolError(f"an answer longer than {max_bytes} bytes"), abort=True)
                continue
            await self._wait()
        chunks = self._chunks
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self._buffered = 0
        self._body = body
        return body

    def __aiter__(self) -> Response:
        return self

    async def __anext__(self) -> bytes:
        """Everything received since the last step, as soon as there is anything."""
        while not self._chunks:
            if self._done:
                raise StopAsyncIteration
            if self._error is not None:
                raise self._error
            await self._wait()
        chunks = self._chunks
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self._buffered = 0
        conn = self._conn
        if conn is not None:
            conn.resume()
        return data

    def pipe(self, sink: Sink) -> asyncio.Future[Any]:
        """Hand the body to `sink` chunk by chunk as it arrives, inside the connection's read
        callback: no task switch per chunk (what is buffered goes first). The future completes
        with None once the body has ended, or with the awaitable `sink` returned when it has to
        wait (reading then pauses until the next `pipe`); it fails with the error that ended the
        body, or with what `sink` raised (the connection is then closed)."""
        piped = self._piped = self._loop.create_future()
        self._sink = sink
        chunks = self._chunks
        while chunks and self._sink is not None:
            chunk = chunks.pop(0)
            self._buffered -= len(chunk)
            self._feed(chunk)
        if self._sink is None:  # the sink failed or has to wait
            return piped
        if self._error is not None:
            self._end_pipe(None, self._error)
        elif self._done:
            self._end_pipe(None, None)
        else:
            conn = self._conn
            if conn is not None:
                conn.resume()
        return piped

    def _sink_failed(self, exc: Exception) -> None:
        self._end_pipe(None, exc)
        self.release()

    def _sink_waits(self, wait: Any) -> None:
        conn = self._conn
        if conn is not None:
            conn.pause()
        self._end_pipe(wait, None)

    def _end_pipe(self, result: Any, exc: BaseException | None) -> None:
        self._sink = None
        piped = self._piped
        if piped is not None and not piped.done():  # done: the piping task was cancelled
            if exc is None:
                piped.set_result(result)
            else:
                piped.set_exception(exc)

    def release(self) -> None:
        """Give the connection back: it already is if the body is complete, otherwise close it."""
        conn = self._conn
        if conn is not None:
            self._conn = None
            if not self._done and self._error is None:
                self._error = UpstreamError("response released before its body was read")
            conn.abandon(self)

    async def __aenter__(self) -> Response:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
