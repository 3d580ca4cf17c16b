"""Response.pipe: the body pushed to a sink in the connection's read callback (the stream relay's
path). Real sockets on 127.0.0.1, run on asyncio and uvloop."""

from __future__ import annotations

import asyncio

import pytest

from gateway.upstream import Origin, Pool, ProtocolError
from gateway.upstream.connection import Connection

from .clients import open_count
from .servers import CHUNKED_HEAD, Peer, Server, encode_chunk, response

CHUNKS = [b"data: one\n\n", b"data: two\n\n", b"data: three\n\n"]


def stream_request(pool: Pool, origin: Origin):
    return pool.request(origin, b"POST", b"/stream", b"", b"{}", read_timeout=5.0)


def paced(got_first: asyncio.Event | None):
    """A handler sending CHUNKS chunked: the first with the head, the rest once the client has the
    first (so at least one arrives while the relay is piping, not from the buffer). With
    got_first None it holds the stream open after the first chunk until the client hangs up."""

    async def handler(peer: Peer) -> None:
        while (req := await peer.read_request()) is not None:
            if req.path != "/stream":
                await peer.send(response(200, b"ok"))
                continue
            await peer.send(CHUNKED_HEAD + encode_chunk(CHUNKS[0]))
            if got_first is None:
                await peer.wait_client_close()
                return
            await got_first.wait()
            for chunk in CHUNKS[1:]:
                await peer.send(encode_chunk(chunk))
            await peer.send(b"0\r\n\r\n")

    return handler


def test_pipe_hands_over_every_chunk_in_order_and_frees_the_connection(run):
    async def main():
        got_first = asyncio.Event()
        async with Server(paced(got_first)) as srv:
            pool = Pool(max_connections_per_origin=1)
            origin = Origin.from_url(srv.url)
            resp = await stream_request(pool, origin)
            received: list[bytes] = []

            def sink(chunk: bytes) -> None:
                received.append(chunk)
                got_first.set()

            assert await resp.pipe(sink) is None  # the body has ended
            assert b"".join(received) == b"".join(CHUNKS)
            assert len(received) >= 2  # pushed as they came, not collected first
            # The connection went back to the pool: the next request reuses it.
            resp2 = await pool.request(origin, b"GET", b"/", b"", b"", read_timeout=5.0)
            assert await resp2.read() == b"ok"
            await pool.close()
        assert srv.accepted == 1

    run(main)


def test_a_sink_that_has_to_wait_pauses_reading_until_the_next_pipe(run, monkeypatch):
    async def main():
        paused: list[bool] = []
        pause = Connection.pause

        def spy_pause(self: Connection) -> None:
            pause(self)
            paused.append(self._paused)

        monkeypatch.setattr(Connection, "pause", spy_pause)
        got_first = asyncio.Event()
        async with Server(paced(got_first)) as srv:
            pool = Pool()
            resp = await stream_request(pool, Origin.from_url(srv.url))
            gate = asyncio.get_running_loop().create_future()
            received: list[bytes] = []

            def slow_sink(chunk: bytes) -> asyncio.Future[None] | None:
                received.append(chunk)
                got_first.set()
                return gate if len(received) == 1 else None

            assert await resp.pipe(slow_sink) is gate
            assert paused == [True]
            gate.set_result(None)
            assert await resp.pipe(slow_sink) is None
            assert b"".join(received) == b"".join(CHUNKS)
            await pool.close()

    run(main)


def test_a_failing_sink_ends_the_pipe_with_its_error_and_closes_the_connection(run):
    async def main():
        async with Server(paced(None)) as srv:
            pool = Pool(max_connections_per_origin=1)
            origin = Origin.from_url(srv.url)
            resp = await stream_request(pool, origin)

            def sink(chunk: bytes) -> None:
                raise LookupError("the caller went away")

            with pytest.raises(LookupError):
                await resp.pipe(sink)
            assert open_count(pool) == 0  # closed at once, never reused half-read
            await srv.wait_until(lambda: srv.open_now == 0)
            resp2 = await pool.request(origin, b"GET", b"/", b"", b"", read_timeout=5.0)
            assert await resp2.read() == b"ok"
            await pool.close()
        assert srv.accepted == 2

    run(main)


def test_pipe_fails_with_the_upstream_error_when_the_body_is_cut(run):
    async def handler(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10)
        peer.reset()

    async def main():
        async with Server(handler) as srv:
            pool = Pool()
            resp = await stream_request(pool, Origin.from_url(srv.url))
            received: list[bytes] = []
            with pytest.raises(ProtocolError):
                await resp.pipe(received.append)
            assert b"".join(received) == b"x" * 10
            await pool.close()

    run(main)
