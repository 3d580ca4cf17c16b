"""One client connection: llhttp parses, the app answers, requests one after another.

An asyncio.Protocol in the manner of uvicorn's httptools front: bytes are parsed in the loop's
read callback, each request becomes a `Request` (scope and protocol for the app) and one task.
Pipelined requests wait their turn and are answered in order. llhttp refuses the smuggling
shapes (Content-Length with Transfer-Encoding, repeated Content-Length, bad chunk sizes, bare
LF, obs-fold); what llhttp lets through and HTTP/1.1 forbids or this front does not serve is
refused here (a 1.1 request without exactly one Host, other versions, transfer codings other than
chunked, expectations other than 100-continue, protocol upgrades with a body).

Time limits on heads and idle connections are the server's sweep's (`check`): each connection
keeps its phase and when it began, and the sweep closes those over their limit; a body's
deadline and rate are the app's, as on granian. A request the front refuses before the app sees
it (a head too large, too slow or malformed) is answered by the app's `front_error` hook, so the
caller gets its API's error format; a body whose framing breaks fails the app's read with a
`BodyError`, which the app answers. Either way the connection then closes.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import TYPE_CHECKING, cast
from urllib.parse import unquote

import httptools

from . import responses
from .errors import BodyError, ProtocolClosed
from .request import Headers, Request, StreamTransport

if TYPE_CHECKING:
    from .server import FrontServer

log = logging.getLogger("aigw.front")

# Phases of a connection's reading side, for the sweep.
IDLE = 0  # connected; no byte yet
HEAD = 1  # a request head is arriving
BODY = 2  # a request body is arriving (its limits are the app's)
BUSY = 3  # every request read is being (or has been) answered; the next has not begun
KEEP = 4  # answered; waiting for the next request
DONE = 5  # refused or closing: nothing more is read

# Why reading is paused (bits): requests wait their turn; a body waits for the app; refused.
PAUSED_PIPELINE = 1
PAUSED_BODY = 2
PAUSED_STOPPED = 4

# After an answer that leaves input unread (a refused request, a body the app did not read): how
# long what still arrives is read and dropped before the connection closes.
LINGER_S = 2.0


class HttpConnection(asyncio.Protocol):
    __slots__ = (
        "_active",
        "_eof",
        "_expect",
        "_head_bytes",
        "_head_pending",
        "_headers",
        "_host_count",
        "_linger",
        "_parser",
        "_paused",
        "_phase",
        "_pipeline",
        "_reading",
        "_refusal",
        "_served",
        "_since",
        "_stopped",
        "_url",
        "client",
        "local",
        "loop",
        "lost",
        "paused_at",
        "scheme",
        "server",
        "transport",
        "writable",
    )

    def __init__(self, server: FrontServer) -> None:
        self.server = server
        self.loop = server.loop
        self.transport: asyncio.Transport | None = None
        self._parser = httptools.HttpRequestParser(self)
        self.client = self.local = ""
        self.scheme = "http"
        self.lost = False
        self._phase = IDLE
        self._since = self.loop.time()
        self._paused = 0
        self.paused_at = 0.0  # when the transport's write buffer filled (0: it has room)
        self.writable = server.ready  # what a stream's send returns: done, or the drain future
        self._active: Request | None = None  # being answered
        self._pipeline: deque[Request] = deque()  # read, waiting for their turn
        self._reading: Request | None = None  # the request whose head or body the parser is in
        self._refusal: tuple[int, str, str] | None = None  # owed once earlier answers are out
        self._served = 0
        self._stopped = False  # no more requests are read; those read are still answered
        self._eof = False  # the client has ended its side
        self._linger: asyncio.TimerHandle | None = None  # closing once the client has seen the answer
        self._url = b""
        self._headers = Headers()
        self._head_bytes = self._head_pending = 0
        self._host_count = 0
        self._expect = ""

    # ------------------------------------------------------------------ transport events

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport = cast(asyncio.Transport, transport)  # uvloop's: no subclass
        self.client = _address(transport.get_extra_info("peername"))
        self.local = _address(transport.get_extra_info("sockname"))
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._phase = DONE
        self.server.connections.discard(self)
        if self._linger is not None:
            self._linger.cancel()
        for req in (self._active, self._reading, *self._pipeline):
            if req is not None:
                req.gone()
        self._pipeline.clear()
        if self.paused_at:
            self.paused_at = 0.0
            self.writable.set_exception(ProtocolClosed("the client's connection closed"))
            self.writable.exception()  # retrieved: nobody may be waiting

    def data_received(self, data: bytes) -> None:
        if self._stopped:
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # A GET asking to switch protocols (h2c, websocket) without a body has been read as an
            # ordinary request: it is answered, and the connection closes after it.
            self._stop()
        except httptools.HttpParserError as exc:
            if isinstance(exc, httptools.HttpParserCallbackError):
                log.error("the front failed parsing a request", exc_info=exc.__context__)
            self._refuse(400, "invalid_request", f"The request is not valid HTTP/1.1: {exc}.")
            return
        if self._phase == HEAD:
            # The head is still incomplete: llhttp holds its unfinished line, which the
            # callbacks have not counted yet.
            self._head_pending += len(data)
            if self._head_bytes + self._head_pending > self.server.limits.max_header_bytes:
                self._refuse_head_size()

    def eof_received(self) -> bool:
        # The client has sent all it will. Requests read so far are still answered (a client may
        # half-close after its last request); then the connection closes.
        self._eof = True
        if self._linger is not None:  # the answer is out and the client has read to its end
            self._linger.cancel()
            self._linger = None
            if self.transport is not None:
                self.transport.close()
            return True
        req = self._reading
        if req is not None and not req.complete:
            # Short of its Content-Length, the caller has left (as granian reports it); a chunked
            # body without its last chunk is broken.
            if "transfer-encoding" in req.headers:
                req.fail(BodyError("The connection ended before the chunked body's last chunk."))
            else:
                req.fail(ProtocolClosed("the connection ended before the request body did"))
        self._stop()
        if self._active is None and self._refusal is None and self._reading is None:
            self._close()
        return True

    def pause_writing(self) -> None:
        self.paused_at = self.loop.time()
        self.writable = self.loop.create_future()

    def resume_writing(self) -> None:
        self.paused_at = 0.0
        waiter, self.writable = self.writable, self.server.ready
        if not waiter.done():
            waiter.set_result(None)

    # ------------------------------------------------------------------ llhttp callbacks

    def on_message_begin(self) -> None:
        if self._stopped:
            return
        self._phase = HEAD
        self._since = self.loop.time()
        self._url = b""
        self._headers = Headers()
        self._head_bytes = self._head_pending = self._host_count = 0
        self._expect = ""

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._head_bytes += len(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_bytes += len(name) + len(value) + 4
        key = name.decode("latin-1").lower()
        headers = self._headers
        if key not in headers:
            headers[key] = value.decode("latin-1")
        if key == "host":
            self._host_count += 1

    def on_headers_complete(self) -> None:
        if self._stopped:
            return
        if self._head_bytes > self.server.limits.max_header_bytes:
            self._refuse_head_size()
            return
        parser = self._parser
        headers = self._headers
        version = parser.get_http_version()
        if version != "1.1" and version != "1.0":
            self._refuse(505, "http_version_not_supported", f"HTTP/{version} is not served: use HTTP/1.1.")
            return
        if self._host_count != 1 and (version == "1.1" or self._host_count > 1):
            self._refuse(400, "invalid_host", "An HTTP/1.1 request must carry exactly one Host header.")
            return
        coding = headers.get("transfer-encoding")
        if coding is not None and coding.lower() != "chunked":
            self._refuse(501, "unsupported_transfer_encoding", "Only chunked transfer coding is served.")
            return
        expect = headers.get("expect")
        expect_continue = False
        if expect is not None:
            if expect.lower() != "100-continue":
                self._refuse(417, "expectation_failed", "Only Expect: 100-continue is understood.")
                return
            expect_continue = True
        length = headers.get("content-length")
        has_body = coding is not None or (length is not None and length != "0")
        keep_alive = parser.should_keep_alive()
        if parser.should_upgrade():
            if has_body or parser.get_method() == b"CONNECT":
                self._refuse(400, "upgrade_not_supported", "Protocol upgrades are not served.")
                return
            keep_alive = False  # answered as HTTP/1.1, then closed (see data_received)
        url = self._url
        if url[:1] == b"/":
            path, _, query = url.partition(b"?")
        else:  # absolute-form (a proxy's request line) or `*`
            parsed = httptools.parse_url(url) if url != b"*" else None
            path, query = (parsed.path or b"/", parsed.query or b"") if parsed is not None else (b"*", b"")
        text = path.decode("latin-1")
        if "%" in text:
            text = unquote(text)
        req = Request(
            self,
            parser.get_method().decode("ascii"),
            text,
            query.decode("latin-1"),
            headers,
            version,
            keep_alive,
            expect_continue,
            complete=not has_body,
        )
        self._reading = req
        if has_body:
            self._phase = BODY
            self._since = self.loop.time()
        if self._active is None:
            self._run(req)
        else:
            self._pipeline.append(req)
            self._pause(PAUSED_PIPELINE)

    def on_body(self, body: bytes) -> None:
        req = self._reading
        if req is not None and not self._stopped:
            req.feed(body)

    def on_message_complete(self) -> None:
        req = self._reading
        if req is not None and not self._stopped:
            self._reading = None
            self._phase = BUSY
            req.end()

    # ------------------------------------------------------------------ running and answering

    def _run(self, req: Request) -> None:
        self._active = req
        server = self.server
        task: asyncio.Task[None] = self.loop.create_task(server.app(req, req))
        server.tasks.add(task)
        task.add_done_callback(lambda t: self._app_done(req, t))

    def _app_done(self, req: Request, task: asyncio.Task[None]) -> None:
        self.server.tasks.discard(task)
        failed = None if task.cancelled() else task.exception()
        if failed is not None:
            log.error("the app failed answering %s %s", req.method, req.path, exc_info=failed)
        if req.finished or self.lost:
            return
        if req.streaming:
            if failed is None:
                self.write(responses.LAST_CHUNK if req.http_version == "1.1" else b"")
                self._answered(req, keep=self._keeps(req))
            else:  # a body cut short must not look complete: no last chunk, and close
                req.finished = True
                self._close()
            return
        if not req.started:  # the app ended without an answer
            req.started = True
            status, code = 500, "internal_error"
            self.answer(req, status, *self.server.refusal(req.path, status, code, "The server failed."))

    def _keeps(self, req: Request) -> bool:
        """Whether the connection stays open after `req`'s answer."""
        limit = self.server.limits.max_requests_per_connection
        return (
            req.keep_alive
            and req.complete
            and self.server.limits.keepalive_timeout_s > 0
            and not self.server.draining
            and (limit == 0 or self._served + 1 < limit)
            # Reading has stopped: open only for the answers still owed on it.
            and (not self._stopped or bool(self._pipeline) or self._refusal is not None)
        )

    def answer(self, req: Request, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        if self.lost:
            req.finished = True
            return
        keep = self._keeps(req)
        if not keep:
            connection = responses.CLOSE
        elif req.http_version == "1.0":
            connection = responses.KEEP_10
        else:
            connection = responses.KEEP
        if status < 200 or status == 204 or status == 304:
            framing, body = connection, b""
        else:
            framing = f"content-length: {len(body)}\r\n{connection}"
        head = responses.head(status, headers, framing)
        if not body or req.method == "HEAD":
            self.write(head)
        elif len(body) < 65536:
            self.write(head + body)  # one write: the copy costs less than a second send
        else:
            self.write(head)
            self.write(body)
        self._answered(req, keep)

    def start_stream(self, req: Request, status: int, headers: list[tuple[str, str]]) -> StreamTransport:
        chunked = req.http_version == "1.1"
        if chunked:
            keep = self._keeps(req)
            framing = responses.CHUNKED + ("" if keep else responses.CLOSE)
            req.keep_alive = keep  # a `connection: close` said now holds at the stream's end
        else:
            framing = responses.CLOSE  # an HTTP/1.0 body without a length ends when the connection does
        if not self.lost:
            self.write(responses.head(status, headers, framing))
        return StreamTransport(self, chunked)

    def send_continue(self, req: Request) -> None:
        if not self.lost and req is self._active:
            self.write(responses.CONTINUE)

    def write(self, data: bytes) -> None:
        transport = self.transport
        if transport is not None and not self.lost:
            transport.write(data)

    def _answered(self, req: Request, keep: bool) -> None:
        """`req`'s answer is all written: close, or go on with the next request."""
        req.finished = True
        self._active = None
        self._served += 1
        if not keep:
            self._close()
            return
        if self._pipeline:
            nxt = self._pipeline.popleft()
            if not self._pipeline:
                self._resume(PAUSED_PIPELINE)
            self._run(nxt)
        elif self._refusal is not None:
            self._send_refusal()
        elif self._stopped and self._reading is None:
            self._close()
        elif self._reading is None and self._phase == BUSY:
            self._phase = KEEP
            self._since = self.loop.time()

    # ------------------------------------------------------------------ refusals and limits

    def _refuse_head_size(self) -> None:
        limit = self.server.limits.max_header_bytes
        self._refuse(431, "request_header_too_large", f"The request's head is over {limit} bytes.")

    def _refuse(self, status: int, code: str, message: str) -> None:
        """Refuse the request being read, then close. A body the app reads fails its read (the app
        answers); a head is answered here, after any requests read before it."""
        if self._stopped:
            return
        req = self._reading
        self._stop()
        if req is not None:
            req.fail(BodyError(message))
            return
        self._refusal = (status, code, message)
        if self._active is None:
            self._send_refusal()

    def _send_refusal(self) -> None:
        assert self._refusal is not None
        status, code, message = self._refusal
        # The path, when the request line got that far, picks the caller's error format.
        path = self._url.partition(b"?")[0].decode("latin-1")
        headers, body = self.server.refusal(path, status, code, message)
        framing = f"content-length: {len(body)}\r\n{responses.CLOSE}"
        self.write(responses.head(status, headers, framing) + body)
        self._refusal = None
        self._close()

    def _stop(self) -> None:
        """Read nothing more on this connection."""
        self._stopped = True
        self._phase = DONE
        self._pause(PAUSED_STOPPED)

    def _close(self) -> None:
        self._phase = DONE
        transport = self.transport
        if transport is None or transport.is_closing() or self._linger is not None:
            return
        if not self._eof and (self._stopped or self._reading is not None):
            # Input may be unread: closing now would have the kernel answer it with a reset,
            # which can destroy the answer before the client reads it. End this side instead,
            # drop what still arrives, and close when the client ends its side or LINGER_S on.
            self._stopped = True
            transport.write_eof()  # after what is buffered
            self._linger = self.loop.call_later(LINGER_S, transport.close)
            if self._paused:
                self._paused = 0
                transport.resume_reading()
            return
        transport.close()  # what is buffered is still sent

    def check(self, now: float) -> None:
        """The server's sweep: close what is over its time limit."""
        limits = self.server.limits
        phase, elapsed = self._phase, now - self._since
        if phase == HEAD:
            if elapsed > limits.header_timeout_s:
                self._refuse(408, "request_timeout", "The request's head did not arrive in time.")
        elif phase == KEEP:
            if elapsed > limits.keepalive_timeout_s:
                self._close()
        elif phase == IDLE and elapsed > limits.idle_timeout_s:
            self._close()
        if self.paused_at and now - self.paused_at > limits.send_timeout_s:
            log.info("cut off %s: it took none of its answer for %gs", self.client, limits.send_timeout_s)
            if self.transport is not None:
                self.transport.abort()

    def shutdown(self) -> None:
        """The server is draining: close now if nothing is in flight; otherwise the answer in
        flight says `connection: close` (see _keeps) and the connection closes after it."""
        if self._active is None and self._reading is None and not self._pipeline:
            self._close()

    # ------------------------------------------------------------------ flow control

    def body_pending(self) -> None:
        self._pause(PAUSED_BODY)

    def body_taken(self) -> None:
        self._resume(PAUSED_BODY)

    def _pause(self, why: int) -> None:
        if not self._paused and self.transport is not None and not self.lost:
            self.transport.pause_reading()
        self._paused |= why

    def _resume(self, why: int) -> None:
        if self._paused & why:
            self._paused &= ~why
            if not self._paused and self.transport is not None and not self.lost:
                self.transport.resume_reading()


def _address(addr: object) -> str:
    """'1.2.3.4:5678' or '[2001:db8::1]:5678', as granian gives `scope.client`."""
    if isinstance(addr, tuple) and len(addr) >= 2:
        host, port = addr[0], addr[1]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return str(addr or "")
