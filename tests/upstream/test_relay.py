"""The stream relay (gateway.dataplane.proxy.relay_stream) over a real upstream connection: chunks
reach the caller's transport in order, a transport that has to wait is waited for, and a caller
that has gone closes the upstream request. Real sockets on 127.0.0.1, asyncio and uvloop."""

from __future__ import annotations

import asyncio
import json
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

    def client_left(self) -> None:
        self.left = True

    def usage(self, *counts: int) -> None:
        self.usage_seen = counts

    def streaming(self, transport: Any) -> Any:
        return transport


def stream_handler(end: str, relayed: asyncio.Event | None = None):
    """Sends EVENTS, one chunk each; then ends the body ("finish"), holds the stream open until
    the client hangs up as a long generation would ("hold"), or resets the connection once the
    first two events have been relayed (`relayed`) ("reset")."""

    async def handler(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(CHUNKED_HEAD)
        for event in EVENTS[:2] if end == "reset" else EVENTS:
            await peer.send(encode_chunk(event))
        if end == "reset":
            assert relayed is not None
            await relayed.wait()
            peer.reset()
            return
        if end == "finish":
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


def test_an_upstream_cut_mid_stream_ends_the_callers_stream_with_an_error_event(run):
    """What arrived is relayed, then one SSE event in OpenAI's error format, which the SDKs raise."""

    async def main():
        transport = Transport()
        tokens, _, still_open = await relay(transport, "reset")
        assert b"".join(transport.sent[:-1]) == b"".join(EVENTS[:2])
        last = transport.sent[-1]
        assert last.startswith(b"data: ") and last.endswith(b"\n\n")
        error = json.loads(last[len(b"data: ") :])["error"]
        assert (error["type"], error["code"]) == ("api_error", "upstream_bad_response")
        assert "openai" in error["message"]
        assert tokens == -1 and still_open == 0

    run(main)
