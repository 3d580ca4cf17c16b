"""The stream relay (gateway.dataplane.proxy.relay_stream) over a real upstream connection: chunks
reach the caller's transport in order, a transport that has to wait is waited for, and a caller
that has gone closes the upstream request. Real sockets on 127.0.0.1, asyncio and uvloop."""

from __future__ import annotations

import asyncio
import gc
import json
import weakref
from types import SimpleNamespace
from typing import Any

from gateway.dataplane.caller import OPENAI
from gateway.dataplane.context import RequestContext
from gateway.dataplane.proxy import relay_stream
from gateway.upstream import Origin, Pool

from .clients import open_count
from .servers import CHUNKED_HEAD, Peer, Server, encode_chunk

EVENTS = [
    b'data: {"choices":[{"delta":{"content":"Hel"}}],"usage":null}\n\n',
    b'data: {"choices":[{"delta":{"content":"lo"}}],"usage":null}\n\n',
    b'data: {"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}\n\n',
    b"data: [DONE]\n\n",
]
TARGET = SimpleNamespace(provider="openai", key_id="k1", timeout_s=5.0)


class Proto:
    """granian's protocol object as the relay uses it: response_stream hands out `transport`."""

    def __init__(self, transport: Any) -> None:
        self.transport = transport

    def response_stream(self, status: int, headers: list[tuple[str, str]]) -> Any:
        return self.transport


class Trace:
    def __init__(self) -> None:
        self.usage_seen: tuple[int, ...] | None = None
        self.left = False  # recorded as a caller that left (a 499)
        self.bytes_out = 0  # what was sent to the caller, for the access log
        self.error: tuple[str, str] | None = None  # the error the caller's stream ended with

    def client_left(self) -> None:
        self.left = True

    def failed(self, error_type: str, error_code: str) -> None:
        self.error = (error_type, error_code)

    def usage(self, *counts: int) -> None:
        self.usage_seen = counts

    def streaming(self, transport: Any) -> Any:
        return transport


def stream_handler(end: str, relayed: asyncio.Event | None = None):
    """Sends EVENTS, one chunk each; then ends the body ("finish"), holds the stream open until
    the client hangs up as a long generation would ("hold"), or resets the connection once the
    first two events have been relayed (`relayed`) ("reset"). "early" ends the body cleanly
    before the last event, `[DONE]`; "trickle" sends that last event a byte a chunk."""

    async def handler(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(CHUNKED_HEAD)
        events = {"reset": EVENTS[:2], "early": EVENTS[:-1], "trickle": EVENTS[:-1]}.get(end, EVENTS)
        for event in events:
            await peer.send(encode_chunk(event))
        if end == "trickle":
            for i in range(len(EVENTS[-1])):
                await peer.send(encode_chunk(EVENTS[-1][i : i + 1]))
        if end == "reset":
            assert relayed is not None
            await relayed.wait()
            peer.reset()
            return
        if end in ("finish", "early", "trickle"):
            await peer.send(b"0\r\n\r\n")
        await peer.wait_client_close()

    return handler


class Transport:
    """granian's stream transport as far as the relay sees it: bytes queued at once. `relayed` is
    set once two chunks have been sent."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.relayed = asyncio.Event()

    def send_bytes(self, data: bytes) -> Any:
        self.sent.append(data)
        if len(self.sent) == 2:
            self.relayed.set()
        return self._done()

    async def _done(self) -> None:
        return None


async def relay(transport: Any, end: str = "finish") -> tuple[int, Trace, int]:
    """Relays one upstream stream to `transport`: (tokens, trace, upstream connections still open
    in the pool right after the relay returned)."""
    async with Server(stream_handler(end, getattr(transport, "relayed", None))) as srv:
        pool = Pool()
        resp = await pool.request(Origin.from_url(srv.url), b"POST", b"/", b"", b"{}", read_timeout=5.0)
        trace = Trace()
        try:
            ctx = RequestContext(Proto(transport), trace, OPENAI, [])  # type: ignore[arg-type]
            tokens = await relay_stream(ctx, resp, TARGET, None)  # type: ignore[arg-type]
        finally:
            resp.release()
        still_open = open_count(pool)
        await pool.close()
        assert srv.accepted == 1
        return tokens, trace, still_open


def test_a_transport_that_has_to_wait_gets_every_chunk_in_order(run):
    """A send that does not finish at once (not granian's, which queues and returns) is awaited:
    nothing is lost or reordered, and the usage is still counted."""

    class WaitingTransport:
        def __init__(self) -> None:
            self.sent: list[bytes] = []

        async def send_bytes(self, data: bytes) -> None:
            await asyncio.sleep(0)  # a real suspension: the relay's task must wait here
            self.sent.append(data)

    async def main():
        transport = WaitingTransport()
        tokens, trace, still_open = await relay(transport)
        assert b"".join(transport.sent) == b"".join(EVENTS)
        assert tokens == 11
        assert trace.usage_seen == (9, 2, 0)
        assert still_open == 1  # the whole body was read: kept for the next request

    run(main)


def test_a_caller_that_has_gone_ends_the_relay_and_closes_the_upstream_request(run):
    """granian's send_bytes returns an awaitable that fails once the client has gone."""

    class GoneAfterFirst:
        def __init__(self) -> None:
            self.sent: list[bytes] = []

        def send_bytes(self, data: bytes) -> Any:
            self.sent.append(data)
            return self._gone() if len(self.sent) > 1 else self._ok()

        async def _ok(self) -> None:
            return None

        async def _gone(self) -> None:
            raise ConnectionResetError("client went away")

    async def main():
        transport = GoneAfterFirst()
        # The upstream never ends this stream: the relay returns only because the caller has gone.
        tokens, trace, still_open = await relay(transport, "hold")
        assert tokens == -1 and trace.left  # the usage event never went out
        assert len(transport.sent) == 2
        assert still_open == 0  # the upstream request was closed, not left running

    run(main)


class FailedSend:
    """What granian's send_bytes hands back once the caller has gone (src/rsgi/io.rs): an
    awaitable that is its own iterator and raises, and keeps, its error. granian's is a native
    object the garbage collector cannot see into, so a reference cycle through it (the error's
    traceback holds the frame that holds the awaitable) is never freed."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def __await__(self) -> FailedSend:
        return self

    def __iter__(self) -> FailedSend:
        return self

    def __next__(self) -> Any:
        error = self.error
        del self  # granian's is native code: no frame of its own holds it
        raise error


def test_a_caller_that_has_gone_leaves_no_failed_send_behind(run):
    """Each caller that leaves mid-stream would otherwise keep its request's state for good."""

    class Gone:
        def __init__(self) -> None:
            self.failed: list[weakref.ref[FailedSend]] = []

        def send_bytes(self, data: bytes) -> Any:
            send = FailedSend(ConnectionResetError("client went away"))
            self.failed.append(weakref.ref(send))
            return send

    async def main():
        transport = Gone()
        _, trace, still_open = await relay(transport, "hold")
        assert trace.left and still_open == 0
        assert transport.failed and all(ref() is None for ref in transport.failed)

    gc.collect()
    gc.disable()  # freed as the relay returns, not by a collection
    try:
        run(main)
    finally:
        gc.enable()


def test_an_upstream_cut_mid_stream_ends_the_callers_stream_with_an_error_event(run):
    """What arrived is relayed, then one SSE event in OpenAI's error format, which the SDKs raise."""

    async def main():
        transport = Transport()
        tokens, trace, still_open = await relay(transport, "reset")
        assert b"".join(transport.sent[:-1]) == b"".join(EVENTS[:2])
        last = transport.sent[-1]
        assert last.startswith(b"data: ") and last.endswith(b"\n\n")
        error = json.loads(last[len(b"data: ") :])["error"]
        assert (error["type"], error["code"]) == ("api_error", "upstream_bad_response")
        assert "openai" in error["message"]
        assert tokens == -1 and still_open == 0
        assert trace.error == ("api_error", "upstream_bad_response")  # and so says the call record

    run(main)


def test_a_stream_that_ends_cleanly_without_done_is_reported_truncated(run):
    """The body's framing ended, but the stream did not: an error event, and the record says so."""

    async def main():
        transport = Transport()
        tokens, trace, _ = await relay(transport, "early")
        assert b"".join(transport.sent[:-1]) == b"".join(EVENTS[:-1])
        error = json.loads(transport.sent[-1][len(b"data: ") :])["error"]
        assert error["code"] == "upstream_stream_truncated" and "openai" in error["message"]
        assert trace.error == ("api_error", "upstream_stream_truncated")
        assert tokens == 11  # the usage event came before the cut, and counts

    run(main)


def test_a_done_marker_split_over_many_reads_still_ends_the_stream(run):
    async def main():
        transport = Transport()
        _, trace, _ = await relay(transport, "trickle")
        assert b"".join(transport.sent) == b"".join(EVENTS)
        assert trace.error is None

    run(main)
