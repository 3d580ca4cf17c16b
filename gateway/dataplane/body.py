"""Reading a request body within the server's limits: its size, its deadline and its rate.

A body must arrive whole within `server.body_timeout_s` of the headers and keep up
`server.min_body_rate` bytes per second once `body_rate_grace_s` has passed: one of known
length within the grace period plus its length at that rate, a chunked one never falling behind
it. A body cut off by those limits is a 408; one whose connection ended before its declared
length is a 499 (the caller left); a chunked body that ends early or is malformed is a 400. The
engine enforces the limits on heads and idle connections (gateway/node/granian_engine.py,
gateway/front).

A read's deadline cancels the reading task: no extra task or coroutine on the request path. The
reads in progress share one timer, armed at the earliest deadline, so a read that ends in time
(nearly all) costs a dict entry, not a timer of its own.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import TYPE_CHECKING, Any

from granian.rsgi import ProtocolClosed

from ..errors import GatewayError
from ..front import BodyError
from . import errors

if TYPE_CHECKING:
    from types import TracebackType

    from granian.rsgi import HTTPProtocol

    from ..config.schema import ServerConfig


# A \uD800-\uDFFF escape: half of a UTF-16 surrogate pair.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF][0-9a-fA-F]{2}")


def lone_surrogates_replaced(body: bytes) -> bytes:
    """`body` with each lone surrogate escape ("\ud800" without its pair) read as U+FFFD, as Go's
    encoding/json reads it: valid JSON (RFC 8259 allows any escape) that msgspec and orjson
    refuse. The same bytes when there is none, or the body is not JSON at all."""
    if _SURROGATE_ESCAPE.search(body) is None:
        return body
    try:
        text = json.dumps(json.loads(body), ensure_ascii=False)
    except ValueError:
        return body
    # json.loads joins the pairs; what is left of the surrogates is alone.
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode()


# The event loop's timers fire to the millisecond: a deadline that close is due.
_TIMER_RESOLUTION_S = 0.001


class BodyLimits:
    """One worker's body limits; `read` reads a body within them."""

    __slots__ = ("_reads", "_timer", "_timer_at", "grace", "loop", "max_bytes", "rate", "timeout")

    def __init__(self, server: ServerConfig, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.max_bytes = server.max_body_bytes
        self.timeout = server.body_timeout_s
        self.rate = server.min_body_rate
        self.grace = server.body_rate_grace_s
        self._reads: dict[_Watch, None] = {}  # the reads in progress
        self._timer: asyncio.TimerHandle | None = None  # at the earliest of their deadlines, or sooner
        self._timer_at = 0.0

    def allowed_s(self, size: int) -> float:
        """How long `size` bytes of body may take to arrive."""
        if not self.rate:
            return self.timeout
        return min(self.timeout, self.grace + size / self.rate)

    def watch(self, declared: int) -> _Watch:
        """A deadline for reading a body of `declared` bytes in the current task (`with` it around
        the read)."""
        return _Watch(self, self.loop.time(), self.allowed_s(declared))

    def _started(self, watch: _Watch) -> None:
        self._reads[watch] = None
        if self._timer is None or watch.deadline < self._timer_at:
            self._arm(watch.deadline)

    def _arm(self, at: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.loop.call_at(at, self._sweep)
        self._timer_at = at

    def _sweep(self) -> None:
        """Cut the reads past their deadline; the timer follows the earliest of the others."""
        self._timer = None
        now = self.loop.time()
        reads = self._reads
        due = now + _TIMER_RESOLUTION_S  # as a timer of its own would have fired: with the sweep
        for watch in [w for w in reads if w.deadline <= due]:
            del reads[watch]
            watch.cut()
        if reads:
            self._arm(min(w.deadline for w in reads))

    async def read(self, proto: HTTPProtocol, content_length: str | None) -> bytes:
        """The whole body; a GatewayError when it is too large, too slow, or does not arrive."""
        if content_length is not None:
            if not content_length.isdigit():
                raise GatewayError(
                    400,
                    "invalid_request_error",
                    "invalid_content_length",
                    "The Content-Length header is not a number.",
                )
            declared = int(content_length)
            if declared > self.max_bytes:
                raise errors.body_too_large(self.max_bytes)
            with self.watch(declared):
                body: bytes = await proto()
            return body
        return await self._chunked(proto)

    async def _chunked(self, proto: HTTPProtocol) -> bytes:
        # Counted as it arrives: reading stops once over the size limit, or behind the rate.
        parts = []
        size = 0
        chunks = proto.__aiter__()
        with self.watch(0) as watch:
            while True:
                chunk: bytes = await chunks.__anext__()
                if not chunk:
                    break
                size += len(chunk)
                if size > self.max_bytes:
                    raise errors.body_too_large(self.max_bytes)
                parts.append(chunk)
                watch.extend(self.allowed_s(size))
            # granian ends a body with one empty chunk, after which the iteration stops at once.
            # A broken body (cut off, a chunk size that lies, and trailers, which granian's RSGI
            # cannot pass on) reads as an empty chunk that is followed by another.
            try:
                rest = chunks.__anext__()
            except StopAsyncIteration:
                return b"".join(parts)
            await rest
        raise errors.body_framing()


class _Watch:
    """The deadline of one body read: at `started + allowed_s` (its limits' sweep) it cancels the
    reading task, and the read ends in a 408. A connection that ends first ends it in a 499."""

    __slots__ = ("deadline", "fired", "limits", "started", "task")

    def __init__(self, limits: BodyLimits, started: float, allowed_s: float) -> None:
        self.limits = limits
        self.started = started
        self.deadline = started + allowed_s
        self.fired = False
        self.task: asyncio.Task[Any] | None = asyncio.current_task(limits.loop)

    def cut(self) -> None:
        self.fired = True
        if self.task is not None:
            self.task.cancel()

    def extend(self, allowed_s: float) -> None:
        """The body has made progress: it may now take `allowed_s` from its start (never less
        than before, so the sweep, due no later than the old deadline, still finds it in time)."""
        self.deadline = self.started + allowed_s

    def __enter__(self) -> _Watch:
        self.limits._started(self)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.limits._reads.pop(self, None)
        if kind is None:
            return
        if self.fired and kind is asyncio.CancelledError and self.task is not None:
            self.task.uncancel()  # this deadline's cancellation, not the worker's
            raise errors.body_timeout(self.limits.loop.time() - self.started) from None
        if kind is ProtocolClosed:
            raise errors.client_closed_mid_body() from None
        if kind is BodyError:  # the native front: the chunked framing broke
            raise errors.body_framing() from None
