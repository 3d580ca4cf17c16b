"""Send an admitted request upstream and relay the answer, streaming chunk by chunk.

What goes upstream is the exchange's (exchange.py); this module sends it and relays the answer.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Generator
from typing import Any

from ..calllog.trace import StreamTransport, Trace
from ..calllog.usage import openai_usage
from ..errors import GatewayError, openai_sse
from ..providers.base import StreamTranslator
from ..providers.errors import STREAM_TRUNCATED, truncated
from ..upstream import ConnectError, Response, UpstreamError, UpstreamTimeout
from . import errors
from .caller import CallerStream
from .context import RequestContext
from .targets import Target

log = logging.getLogger("aigw.proxy")

SSE_HEADERS = [("content-type", "text/event-stream"), ("cache-control", "no-cache")]
# An OpenAI stream's last event is `data: [DONE]`; the relay keeps this many of a pass-through
# stream's last bytes to see it (more than the marker, for line ends and a marker split in reads).
_TAIL = 32


def transport_failure(exc: UpstreamError, target: Target) -> GatewayError:
    """The caller's error for an attempt that got no answer; it names the failure's class."""
    if isinstance(exc, UpstreamTimeout):
        return errors.upstream_timeout(target.provider, target.timeout_s)
    if isinstance(exc, ConnectError):
        return errors.upstream_unreachable(target.provider)
    return errors.upstream_broken(target.provider)


async def relay_stream(
    ctx: RequestContext, resp: Response, target: Target, to_openai: StreamTranslator | None
) -> int:
    """Relay a stream as it comes, through the provider's translator to OpenAI chunks (None when
    the provider speaks them) and the caller's to its format. The usage goes on the trace;
    returns its total tokens (-1: none seen).

    Chunks are relayed in the upstream connection's read callback (`Response.pipe`): this task
    wakes once for the whole stream, not once per chunk."""
    transport = ctx.stream(SSE_HEADERS)
    to_caller = ctx.caller.stream()
    trace = ctx.trace
    relay = _Relay(transport, to_openai, to_caller, trace)
    try:
        while (wait := await resp.pipe(relay.chunk)) is not None:
            await wait  # the caller's side could not take a chunk at once
    except _ClientGone:
        trace.client_left()
        return relay.tokens  # leaving closes the upstream request (pipe has already)
    except UpstreamError as exc:
        error = transport_failure(exc, target)
        trace.failed(error.type, error.code)
        failure: bytes | None = openai_sse(error)
        log.warning("stream from %s/%s broke: %s", target.provider, target.key_id, type(exc).__name__)
    else:
        failure = None
        if to_openai is None and not _ends_openai_stream(relay.tail):
            # Ended cleanly but short of `[DONE]`: a cut the framing did not show (a chunked body
            # closed early by a proxy, an unframed body ended by a plain close).
            trace.failed("api_error", STREAM_TRUNCATED)
            failure = truncated(target.provider)
            log.warning("stream from %s/%s ended without [DONE]", target.provider, target.key_id)
    tokens = relay.tokens
    # The end: translators emit their last events (or a well-formed error if the upstream was cut).
    tail = failure if failure is not None and to_openai is None else b""
    if to_openai is not None:
        tail = to_openai.close()
        u = to_openai.usage
        if u is not None:
            cached = u.prompt_tokens_details.cached_tokens if u.prompt_tokens_details else 0
            trace.usage(u.prompt_tokens, u.completion_tokens, cached or 0)
            tokens = u.total_tokens
    if to_caller is not None:
        tail = (to_caller.feed(tail) if tail else b"") + to_caller.close()
    if tail:
        trace.bytes_out += len(tail)
        if not await _send(transport, tail):
            trace.client_left()
    return tokens


def _ends_openai_stream(tail: bytes) -> bool:
    """The stream's last event is `[DONE]`, or the upstream's own error event (which OpenAI ends
    a stream with, and which the caller has been relayed)."""
    end = tail.rstrip()
    return end.endswith(b"[DONE]") or b'{"error"' in tail


class _ClientGone(Exception):
    """The caller's connection closed while its stream was being relayed."""


class _Relay:
    """One stream's chunk handler, called by the upstream connection as chunks arrive."""

    __slots__ = ("tail", "to_caller", "to_openai", "tokens", "trace", "transport")

    def __init__(
        self,
        transport: StreamTransport,
        to_openai: StreamTranslator | None,
        to_caller: CallerStream | None,
        trace: Trace,
    ) -> None:
        self.transport = transport
        self.to_openai = to_openai
        self.to_caller = to_caller
        self.trace = trace
        self.tokens = -1
        self.tail = b""  # a pass-through stream's last bytes, for its end marker

    def chunk(self, data: bytes) -> Awaitable[Any] | None:
        if self.to_openai is not None:
            data = self.to_openai.feed(data)
        else:
            # A chunk as long as the tail is one already; shorter ones (a trickle) are joined.
            self.tail = data if len(data) >= _TAIL else (self.tail + data)[-_TAIL:]
            if data.find(b'"total_tokens"') >= 0:  # not `in`: CPython tries bytes as an int first
                usage = openai_usage(data)
                if usage is not None:
                    self.trace.usage(*usage)
                    self.tokens = usage[0] + usage[1]
        if self.to_caller is not None and data:
            data = self.to_caller.feed(data)
        if not data:
            return None
        self.trace.bytes_out += len(data)
        # Sent from outside any task: granian's send_bytes queues the bytes before it returns and
        # hands back an awaitable that is already done, failing if the caller has gone
        # (src/rsgi/io.rs), so it is run to its end here (next() with a default: no StopIteration).
        step = self.transport.send_bytes(data).__await__()
        try:
            pending = next(step, _SENT)
        except Exception as exc:
            # The failed awaitable holds its error, whose traceback holds this frame and so the
            # awaitable again: a cycle through granian's object, which the garbage collector
            # cannot see into, so never freed. Dropped here, it goes with the request.
            del step
            raise _ClientGone from exc
        # Another transport could have to wait: then the rest of the send is the relay's to await.
        return None if pending is _SENT else _RestOfSend(step, pending)


_SENT: Any = object()


class _RestOfSend:
    """A send that stopped at `pending`: awaiting this waits for it, then finishes the send."""

    __slots__ = ("_pending", "_step")

    def __init__(self, step: Generator[Any, None, Any], pending: Any) -> None:
        self._step = step
        self._pending = pending

    def __await__(self) -> Generator[Any, None, Any]:
        yield self._pending
        try:
            return (yield from self._step)
        except Exception as exc:
            del self._step, self._pending  # the same cycle as in _Relay.chunk
            raise _ClientGone from exc


async def _send(transport: StreamTransport, data: bytes) -> bool:
    try:
        await transport.send_bytes(data)
    except Exception:
        return False
    return True
