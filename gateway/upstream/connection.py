"""One keep-alive HTTP/1.1 connection: writes a request, parses the response with llhttp.

It is an asyncio.Protocol, so bytes are parsed in the loop's read callback with no stream
objects or tasks in between. llhttp frames the messages; the header lines are not handed to
Python one by one (a callback per header costs more than the rest of the parsing): the head's
bytes are kept as they arrive, scanned once in C for what the connection needs (head.py), and
split into headers only if someone asks (`Response.raw_headers`).

One exchange at a time (no pipelining). The read timeout is one lazily re-armed timer per
connection: data arrival only stamps the time, and the timer, when it fires, either reschedules
itself at the new deadline or fails the exchange. The head is bounded as a whole: it must be in
within the read timeout of the request and within MAX_HEAD_BYTES, however its bytes trickle in.
A body can be bounded as a whole too (`bound_body`), on the same timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import TYPE_CHECKING

import httptools

from .errors import ProtocolError, UpstreamError, UpstreamTimeout
from .head import HEAD_CHUNKED, HEAD_LENGTH, HEAD_WATCHED, scan_head

if TYPE_CHECKING:
    from .pool import OriginPool
    from .response import Response

__all__ = ["MAX_HEAD_BYTES", "Connection"]

# A provider's response head is a few kB; past this the upstream is broken or hostile.
MAX_HEAD_BYTES = 64 * 1024


class Connection(asyncio.Protocol):
    __slots__ = (
        "_activity",
        "_broken",
        "_complete",
        "_framed",
        "_head_from",
        "_head_parts",
        "_head_request",
        "_head_size",
        "_in_head",
        "_informational",
        "_keep",
        "_limited",
        "_loop",
        "_lost",
        "_parser",
        "_paused",
        "_resp",
        "_timeout",
        "_timer",
        "_timer_at",
        "_watch",
        "_whole_by",
        "_whole_s",
        "closed",
        "idle",
        "idle_since",
        "origin_pool",
        "received",
        "transport",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop, watch: frozenset[bytes] = frozenset()) -> None:
        self._loop = loop
        # Lower-case header names that set `Response.watched`.
        self._watch = tuple(name.lower() for name in watch)
        self.transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self.origin_pool: OriginPool | None = None  # set once connected; it counts this slot
        self._resp: Response | None = None  # the exchange in progress
        self.closed = False
        self.idle = False  # sitting in the pool's idle deque
        self.idle_since = 0.0
        self.received = False  # any byte of the current response arrived (retry is unsafe after)
        self._complete = False  # the parser finished the current message during this feed
        self._keep = False  # llhttp's keep-alive verdict, taken before it resets its flags
        self._framed = False  # Content-Length or chunked: a close before the end is an error
        self._head_request = False
        # The bytes received since the request was sent, while its head is incomplete; the
        # current head starts at _head_from (after any 1xx interim heads).
        self._head_parts: list[bytes] = []
        self._head_size = 0
        self._head_from = 0
        self._in_head = False  # between sending a request and its final status line + headers
        self._informational = False  # inside a 1xx interim response
        self._broken = False  # bytes beyond the response: the stream is out of sync
        self._paused = False
        self._limited = True  # backpressure on (off while the consumer reads the whole body)
        self._timeout = 0.0
        self._activity = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._whole_by = 0.0  # when the current response must be whole (0: unbounded)
        self._whole_s = 0.0
        self._lost: asyncio.Future[None] | None = None

    # ------------------------------------------------------------------ requests

    def send(self, resp: Response, head: bytes, body: bytes, read_timeout: float, is_head: bool) -> None:
        """Start an exchange; the response arrives through `resp`."""
        transport = self.transport
        if self.closed or transport is None:
            raise ProtocolError("connection closed before the request was sent")
        self._resp = resp
        self.received = False
        self._framed = False
        self._in_head = True
        self._head_size = 0
        self._head_request = is_head
        self._limited = True
        self._whole_by = 0.0
        self._arm(read_timeout)
        try:
            if body:
                transport.writelines((head, body))
            else:
                transport.write(head)
        except (OSError, RuntimeError) as exc:
            self._resp = None
            self.close()
            raise ProtocolError(f"could not send the request: {exc}") from None

    def pause(self) -> None:
        if self._limited and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()

    def resume(self) -> None:
        if self._paused:
            self._paused = False
            # Time spent paused was the consumer's, not the server's silence.
            self._activity = self._loop.time()
            if self.transport is not None and not self.closed:
                self.transport.resume_reading()

    def unlimit(self) -> None:
        self._limited = False
        self.resume()

    def abandon(self, resp: Response) -> None:
        """The consumer gave up on `resp` before its end: the connection cannot be reused."""
        if self._resp is resp:
            self._resp = None
            self.close(abort=True)

    def close(self, exc: UpstreamError | None = None, abort: bool = False) -> None:
        """Close for good; an exchange in progress fails with `exc`."""
        resp = self._resp
        if resp is not None:
            self._resp = None
            resp._fail(exc or ProtocolError("connection closed"))
        if self.closed:
            return
        self.closed = True
        self._detach()
        if self.transport is not None:
            if abort:
                self.transport.abort()
            else:
                self.transport.close()

    def wait_closed(self) -> asyncio.Future[None]:
        if self._lost is None:
            self._lost = self._loop.create_future()
            if self.transport is None:
                self._lost.set_result(None)
        return self._lost

    def _detach(self) -> None:
        # Give the slot back to the pool exactly once, whichever way the connection ended.
        origin_pool = self.origin_pool
        if origin_pool is not None:
            self.origin_pool = None
            origin_pool.forget(self)
        timer = self._timer
        if timer is not None:
            self._timer = None
            timer.cancel()

    # ------------------------------------------------------------------ read timeout

    def bound_body(self, within_s: float) -> None:
        """The current response must be whole within `within_s` from now, or its exchange fails
        with an UpstreamTimeout (and the connection closes)."""
        self._whole_s = within_s
        self._whole_by = due = self._loop.time() + within_s
        self._due(due)

    def _arm(self, timeout: float) -> None:
        now = self._loop.time()
        self._activity = now
        self._timeout = timeout
        self._due(now + timeout)

    def _due(self, due: float) -> None:
        """The timer fires by `due` (sooner, if it is set for sooner)."""
        timer = self._timer
        if timer is None or self._timer_at > due:
            if timer is not None:
                timer.cancel()
            self._timer = self._loop.call_at(due, self._on_timer)
            self._timer_at = due

    def _on_timer(self) -> None:
        self._timer = None
        if self._resp is None:
            return  # idle: the timer lapses until the next exchange arms it
        now = self._loop.time()
        whole_by = self._whole_by
        if whole_by and now >= whole_by:
            late = UpstreamTimeout(f"the answer was not whole within {self._whole_s:g}s")
            self.close(late, abort=True)
            return
        if self._paused:
            self._activity = now
        due = self._activity + self._timeout
        if now >= due:
            if self._in_head:  # its bytes do not stamp the time: the head as a whole was late
                late = UpstreamTimeout(f"no whole response head within {self._timeout:g}s")
            else:
                late = UpstreamTimeout(f"no data from upstream for {self._timeout:g}s")
            self.close(late, abort=True)
            return
        if whole_by and whole_by < due:
            due = whole_by
        self._timer = self._loop.call_at(due, self._on_timer)
        self._timer_at = due

    # ------------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # Requests are one write each: never wait for an ACK to send the next.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        if self._resp is None:
            # Bytes nobody asked for: the server is out of sync with us.
            self.close(abort=True)
            return
        self.received = True
        in_head = self._in_head
        if in_head:  # its time counts from the request: a trickle must not stretch it
            self._head_parts.append(data)
            self._head_size += len(data)
        else:
            self._activity = self._loop.time()
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            self.close(ProtocolError(f"malformed response from upstream: {exc}"), abort=True)
            return
        if in_head and self._in_head and self._head_size > MAX_HEAD_BYTES:
            self.close(ProtocolError(f"a response head over {MAX_HEAD_BYTES} bytes"), abort=True)
            return
        if self._complete:
            self._message_done()

    def eof_received(self) -> bool:
        self._end_of_stream(None)
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed:
            self._end_of_stream(exc)
        self.closed = True
        self._detach()
        # No byte comes after this. The parser holds this protocol's callbacks, a cycle that only
        # the garbage collector would free: dropped, the connection goes as soon as it is unused.
        del self._parser
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)

    def _end_of_stream(self, exc: Exception | None) -> None:
        resp = self._resp
        if resp is not None and exc is None and not self._in_head and not self._framed:
            # A body without Content-Length or chunking ends when the server closes.
            self._resp = None
            resp._finish()
        if exc is None:
            err = ProtocolError("upstream closed the connection before the response was complete")
        else:
            err = ProtocolError(f"upstream connection lost: {exc!r}")
        self.close(err)

    # ------------------------------------------------------------------ httptools callbacks
    # They must not raise (httptools would wrap it); an unexpected message sets `_broken`.
    # There is no on_header: httptools then skips the per-header callbacks altogether.

    def on_message_begin(self) -> None:
        if self._complete or self._resp is None:
            self._broken = True

    def on_headers_complete(self) -> None:
        resp = self._resp
        if resp is None or not self._in_head:
            return
        # llhttp has accepted the head, so it is in the bytes kept, ending at the first blank
        # line (llhttp insists on CRLF, and on no space before a header's colon).
        parts = self._head_parts
        received = parts[0] if len(parts) == 1 else b"".join(parts)
        start = self._head_from
        end, flags = scan_head(received, start, self._watch)
        if end - start > MAX_HEAD_BYTES:
            return  # left unfinished: data_received refuses it once this read is parsed
        status = self._parser.get_status_code()
        if status < 200:
            # 1xx interim response (100 Continue, 103 Early Hints): the real one follows.
            self._informational = True
            self._head_from = end + 4
            return
        parts.clear()
        self._head_from = 0
        self._activity = self._loop.time()  # the body's silences are timed from here
        resp.status = status
        resp.raw_head = received[start:end]
        self._framed = flags & (HEAD_LENGTH | HEAD_CHUNKED) != 0
        resp.watched = flags & HEAD_WATCHED != 0
        self._in_head = False
        if self._head_request:
            # llhttp cannot be told the request was HEAD: end the message here, and give the
            # next exchange a fresh parser, since this one now expects a body.
            self._keep = self._parser.should_keep_alive()
            self._complete = True
        head = resp._head
        if not head.done():  # done = the requesting task was cancelled a moment ago
            head.set_result(None)

    def on_body(self, body: bytes) -> None:
        resp = self._resp
        if resp is not None and not self._complete:
            resp._feed(body)

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            return
        if not self._complete:
            # Asked now: llhttp resets its flags right after this callback.
            self._keep = self._parser.should_keep_alive()
            self._complete = True

    def _message_done(self) -> None:
        self._complete = False
        resp = self._resp
        self._resp = None
        if self._head_request:
            self._parser = httptools.HttpResponseParser(self)
        if self._paused:
            self._paused = False
            if self.transport is not None:
                self.transport.resume_reading()
        if resp is not None:
            resp._finish()
        origin_pool = self.origin_pool
        if self._keep and not self._broken and origin_pool is not None:
            origin_pool.release(self)
        else:
            self.close()
