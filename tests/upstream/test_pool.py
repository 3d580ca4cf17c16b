"""Behaviour specific to gateway.upstream.Pool: retry rules, LIFO reuse, FIFO waiters, idle expiry,
backpressure, release semantics, close. Real sockets on 127.0.0.1, run on asyncio and uvloop."""

from __future__ import annotations

import asyncio
import contextlib
import gc

import pytest

from gateway.upstream import Origin, Pool, ProtocolError, UpstreamError, UpstreamTimeout
from gateway.upstream.connection import MAX_HEAD_BYTES, Connection
from gateway.upstream.response import Response

from .clients import open_count
from .servers import Peer, Server, keep_alive, response


def pool_get(pool: Pool, origin: Origin, path: bytes = b"/", **kw):
    return pool.request(origin, b"GET", path, b"", b"", read_timeout=kw.pop("read_timeout", 5.0))


async def fetch(pool: Pool, origin: Origin, method: bytes = b"GET", path: bytes = b"/", body: bytes = b""):
    resp = await pool.request(origin, method, path, b"", body, read_timeout=5.0)
    return resp.status, await resp.read()


def test_post_is_retried_on_a_stale_reused_connection(run):
    async def handler(peer: Peer) -> None:
        if peer.server.accepted == 1:
            await peer.read_request()
            await peer.send(response(200, b"first"))
            await peer.read_request()  # the idle connection is dropped as the request lands
            return
        await keep_alive(lambda req: response(200, b"fresh:" + req.body))(peer)

    async def main():
        async with Server(handler) as srv:
            pool = Pool()
            origin = Origin.from_url(srv.url)
            assert await fetch(pool, origin, b"POST", b"/a", b"1") == (200, b"first")
            assert await fetch(pool, origin, b"POST", b"/b", b"2") == (200, b"fresh:2")
            await pool.close()
        assert [(r.method, r.path, r.body) for r in srv.requests] == [
            ("POST", "/a", b"1"),
            ("POST", "/b", b"2"),
            ("POST", "/b", b"2"),
        ]
        assert srv.accepted == 2

    run(main)


def test_no_retry_once_part_of_the_response_arrived(run):
    async def handler(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(response(200, b"first"))
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200 OK\r\nContent-Le")  # then close mid-headers

    async def main():
        async with Server(handler) as srv:
            pool = Pool()
            origin = Origin.from_url(srv.url)
            await fetch(pool, origin)
            with pytest.raises(ProtocolError):
                await fetch(pool, origin, b"POST", b"/x", b"{}")
            await pool.close()
        assert srv.accepted == 1

    run(main)


def test_no_retry_on_a_fresh_connection(run):
    async def handler(peer: Peer) -> None:
        await peer.read_request()  # close without answering

    async def main():
        async with Server(handler) as srv:
            pool = Pool()
            with pytest.raises(ProtocolError):
                await fetch(pool, Origin.from_url(srv.url))
            await pool.close()
        assert srv.accepted == 1

    run(main)


def test_no_retry_on_timeout(run):
    async def handler(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(response(200, b"first"))
        await peer.read_request()
        await peer.server.release.wait()

    async def main():
        async with Server(handler) as srv:
            pool = Pool()
            origin = Origin.from_url(srv.url)
            await fetch(pool, origin)
            with pytest.raises(UpstreamTimeout):
                await pool_get(pool, origin, read_timeout=0.2)
            assert open_count(pool) == 0
            await pool.close()
        assert len(srv.requests) == 2

    run(main)


def test_idle_connections_are_closed_after_idle_timeout(run):
    async def handler(peer: Peer) -> None:
        await keep_alive(lambda req: response(200, b"ok"))(peer)  # ends when the client hangs up

    async def main():
        async with Server(handler) as srv:
            pool = Pool(idle_timeout=0.05)
            await fetch(pool, Origin.from_url(srv.url))
            await srv.wait_until(lambda: srv.open_now == 0)
            assert open_count(pool) == 0
            await pool.close()

    run(main)


def test_a_closed_connection_is_freed_without_the_garbage_collector(run, monkeypatch):
    # A worker collects garbage rarely (gateway/dataplane/app.py): a connection left in a
    # reference cycle would stay in memory, with its parser and transport, until a full
    # collection. Every way a connection ends is taken here with the collector off.
    async def handler(peer: Peer) -> None:
        while (req := await peer.read_request()) is not None:
            if req.path == "/partial":  # abandoned by the client mid-body
                await peer.send(response(200, b"x" * 1000)[:-10])
                await peer.wait_client_close()
                return
            if req.path == "/close":  # the server closes after its answer
                await peer.send(response(200, b"bye", [("Connection", "close")]))
                return
            await peer.send(response(200, b"ok"))  # kept alive, then closed idle or by the pool

    async def main():
        lost: list[asyncio.Future[None]] = []
        made = Connection.connection_made

        def spy_made(self: Connection, transport: asyncio.BaseTransport) -> None:
            made(self, transport)
            lost.append(self.wait_closed())

        monkeypatch.setattr(Connection, "connection_made", spy_made)
        async with Server(handler) as srv:
            origin = Origin.from_url(srv.url)
            idle_pool, pool = Pool(idle_timeout=0.05), Pool()
            assert await fetch(idle_pool, origin) == (200, b"ok")
            assert await fetch(pool, origin, path=b"/close") == (200, b"bye")
            async with await pool_get(pool, origin, b"/partial") as resp:
                assert resp.status == 200
            del resp
            assert await fetch(pool, origin) == (200, b"ok")
            await pool.close()
            await asyncio.gather(*lost)  # each connection_lost has run
            await idle_pool.close()
        assert len(lost) == srv.accepted == 4
        assert [o for o in gc.get_objects() if isinstance(o, Connection)] == []

    gc.collect()  # earlier tests' garbage
    gc.disable()
    try:
        run(main)
    finally:
        gc.enable()


def test_lifo_reuse_of_the_most_recently_released_connection(run):
    async def main():
        go = {1: asyncio.Event(), 2: asyncio.Event()}

        async def handler(peer: Peer) -> None:
            n = peer.server.accepted
            while await peer.read_request() is not None:
                if n in go:
                    await go[n].wait()
                await peer.send(response(200, str(n).encode()))

        async with Server(handler) as srv:
            pool = Pool()
            origin = Origin.from_url(srv.url)
            a = asyncio.ensure_future(fetch(pool, origin))
            b = asyncio.ensure_future(fetch(pool, origin))
            await srv.wait_until(lambda: len(srv.requests) == 2)
            go[1].set()
            first = await asyncio.wait({a, b}, return_when=asyncio.FIRST_COMPLETED)
            go[2].set()
            await asyncio.gather(a, b)
            assert {a.result()[1], b.result()[1]} == {b"1", b"2"}
            (done,) = first[0]
            last_released = b"2" if done.result()[1] == b"1" else b"1"
            assert (await fetch(pool, origin))[1] == last_released
            await pool.close()

    run(main)


def test_waiters_are_served_in_fifo_order_and_cancelled_waiters_leave_no_trace(run):
    async def main():
        gate = asyncio.Event()

        async def handler(peer: Peer) -> None:
            while (req := await peer.read_request()) is not None:
                if req.path == "/hold":
                    await gate.wait()
                await peer.send(response(200, req.path.encode()))

        async with Server(handler) as srv:
            pool = Pool(max_connections_per_origin=1)
            origin = Origin.from_url(srv.url)
            holder = asyncio.ensure_future(fetch(pool, origin, path=b"/hold"))
            await srv.wait_until(lambda: len(srv.requests) == 1)
            waiting = [asyncio.ensure_future(fetch(pool, origin, path=b"/%d" % i)) for i in range(4)]
            await asyncio.sleep(0)  # let them queue (ordering, not timing)
            assert pool.stats()[origin.key]["waiting"] == 4
            waiting[1].cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting[1]
            gate.set()
            await holder
            results = await asyncio.gather(waiting[0], waiting[2], waiting[3])
            assert [body for _, body in results] == [b"/0", b"/2", b"/3"]
            assert [r.path for r in srv.requests] == ["/hold", "/0", "/2", "/3"]
            assert pool.stats()[origin.key] == {"open": 1, "idle": 1, "waiting": 0}
            await pool.close()
        assert srv.accepted == 1

    run(main)


def test_a_fully_received_response_frees_its_connection_before_it_is_read(run):
    async def main():
        async with Server(keep_alive(lambda req: response(200, req.path.encode()))) as srv:
            pool = Pool(max_connections_per_origin=1)
            origin = Origin.from_url(srv.url)
            first = await pool_get(pool, origin, b"/1")
            second = await pool_get(pool, origin, b"/2")  # would wait forever if /1 held the slot
            assert (await second.read(), await first.read()) == (b"/2", b"/1")
            assert await first.read() == b"/1"  # cached
            assert [chunk async for chunk in first] == []
            await pool.close()
        assert srv.accepted == 1

    run(main)


def test_release_before_the_end_closes_the_connection(run):
    async def handler(peer: Peer) -> None:
        while (req := await peer.read_request()) is not None:
            if req.path == "/partial":
                await peer.send(response(200, b"x" * 1000)[:-10])
                await peer.wait_client_close()
                return
            await peer.send(response(200, b"ok"))

    async def main():
        async with Server(handler) as srv:
            pool = Pool()
            origin = Origin.from_url(srv.url)
            async with await pool_get(pool, origin, b"/partial") as resp:
                assert resp.status == 200
            resp.release()  # idempotent
            with pytest.raises(UpstreamError):
                await resp.read()
            await srv.wait_until(lambda: srv.open_now == 0)
            assert open_count(pool) == 0
            assert await fetch(pool, origin) == (200, b"ok")
            await pool.close()
        assert srv.accepted == 2

    run(main)


def test_streaming_backpressure_keeps_memory_bounded(run, monkeypatch):
    limit, total, piece = 64 * 1024, 32 * 1024 * 1024, 64 * 1024
    max_read = 256 * 1024  # the most one socket read hands over (asyncio and uvloop)

    async def main():
        paused = asyncio.Event()
        high = [0]
        pause, feed = Connection.pause, Response._feed

        def spy_pause(self: Connection) -> None:
            pause(self)
            paused.set()

        def spy_feed(self: Response, chunk: bytes) -> None:
            feed(self, chunk)
            high[0] = max(high[0], self._buffered)

        monkeypatch.setattr(Connection, "pause", spy_pause)
        monkeypatch.setattr(Response, "_feed", spy_feed)

        async def handler(peer: Peer) -> None:
            await peer.read_request()
            await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % total)
            block = b"s" * piece
            for _ in range(total // piece):
                await peer.send(block)
            await peer.wait_client_close()

        async with Server(handler) as srv:
            pool = Pool(stream_buffer_limit=limit)
            resp = await pool_get(pool, Origin.from_url(srv.url))
            await paused.wait()  # the consumer has not taken anything: reading must stop
            received = 0
            async for chunk in resp:
                received += len(chunk)
            assert received == total
            assert high[0] <= limit + max_read
            await pool.close()

    run(main)


def test_interim_100_continue_is_skipped(run):
    async def main():
        interim = b"HTTP/1.1 100 Continue\r\n\r\n"
        srv = Server(keep_alive(lambda req: interim + response(200, b"final", [("X-A", "1")])))
        async with srv:
            pool = Pool()
            resp = await pool_get(pool, Origin.from_url(srv.url))
            assert (resp.status, dict(resp.headers), await resp.read()) == (
                200,
                {"x-a": "1", "content-length": "5"},
                b"final",
            )
            await pool.close()

    run(main)


def test_bytes_beyond_the_response_drop_the_connection(run):
    async def main():
        srv = Server(keep_alive(lambda req: response(200, b"ok") + b"HTTP/1.1 200 OK\r\n\r\n"))
        async with srv:
            pool = Pool()
            origin = Origin.from_url(srv.url)
            assert await fetch(pool, origin) == (200, b"ok")
            assert await fetch(pool, origin) == (200, b"ok")
            await pool.close()
        assert srv.accepted == 2

    run(main)


def test_headers_mapping(run):
    async def main():
        headers = [("Content-Type", "text/plain"), ("Set-Cookie", "a=1"), ("set-cookie", "b=2")]
        async with Server(keep_alive(lambda req: response(200, b"", headers))) as srv:
            pool = Pool()
            resp = await pool_get(pool, Origin.from_url(srv.url))
            h = resp.headers
            assert h["content-type"] == h["Content-Type"] == h.get("CONTENT-TYPE") == "text/plain"
            assert "Set-Cookie" in h and h["set-cookie"] == "a=1, b=2"
            assert h.get("missing") is None and "missing" not in h
            with pytest.raises(KeyError):
                h["Missing"]
            assert resp.raw_headers[:2] == [(b"Content-Type", b"text/plain"), (b"Set-Cookie", b"a=1")]
            await resp.read()
            await pool.close()

    run(main)


def test_close_fails_requests_in_flight_and_refuses_new_ones(run):
    async def handler(peer: Peer) -> None:
        await peer.read_request()
        await peer.wait_client_close()

    async def main():
        async with Server(handler) as srv:
            pool = Pool()
            origin = Origin.from_url(srv.url)
            task = asyncio.ensure_future(fetch(pool, origin))
            await srv.wait_until(lambda: len(srv.requests) == 1)
            await pool.close()
            with pytest.raises(UpstreamError):
                await task
            with pytest.raises(UpstreamError):
                await fetch(pool, origin)
            await srv.wait_until(lambda: srv.open_now == 0)

    run(main)


def test_header_list_and_block_forms_send_the_same_bytes(run):
    async def main():
        async with Server(keep_alive(lambda req: response(200, b""))) as srv:
            pool = Pool()
            origin = Origin.from_url(srv.url + "/v1/")
            for headers in ([(b"X-Key", b"k"), (b"Accept", b"*/*")], b"X-Key: k\r\nAccept: */*\r\n"):
                resp = await pool.request(origin, b"POST", b"/embeddings", headers, b"{}", read_timeout=5)
                await resp.read()
            with pytest.raises(ValueError):
                await pool.request(origin, b"GET", b"/x HTTP/1.1\r\nEvil: 1", b"", b"", read_timeout=5)
            await pool.close()
        assert [(r.path, r.headers["x-key"], r.headers["accept"]) for r in srv.requests] == [
            ("/v1/embeddings", "k", "*/*")
        ] * 2

    run(main)


def test_mixed_load_keeps_the_books_straight(run, monkeypatch):
    """Many concurrent requests that succeed, break, time out or get cancelled, under a small cap:
    every outcome is the expected one and the pool's slot accounting still adds up."""
    import random

    rng = random.Random(1234)
    cap = 4
    paths = ["/ok"] * 10 + ["/chunked"] * 4 + ["/close", "/drop", "/partial", "/stall"]
    plan = [(rng.choice(paths), rng.random() < 0.15, rng.randrange(6)) for _ in range(300)]
    expected = {
        "/ok": b"ok",
        "/chunked": b"chunked",
        "/close": b"closing",
        "/drop": ProtocolError,
        "/partial": ProtocolError,
        "/stall": UpstreamTimeout,
    }

    async def handler(peer: Peer) -> None:
        while (req := await peer.read_request()) is not None:
            if req.path == "/ok":
                await peer.send(response(200, b"ok"))
            elif req.path == "/chunked":
                await peer.send(response(200, chunks=[b"chun", b"ked"], framing="chunked"))
            elif req.path == "/close":
                await peer.send(response(200, b"closing", framing="close"))
                return
            elif req.path == "/drop":
                return
            elif req.path == "/partial":
                await peer.send(response(200, b"x" * 100)[:-50])
                return
            else:
                await peer.wait_client_close()  # stall until the client gives up
                return

    async def main():
        async with Server(handler) as srv:
            pool = Pool(max_connections_per_origin=cap)
            origin = Origin.from_url(srv.url)
            peak, made = [0], Connection.connection_made

            def spy_made(self: Connection, transport: asyncio.BaseTransport) -> None:
                made(self, transport)
                peak[0] = max(peak[0], open_count(pool))

            monkeypatch.setattr(Connection, "connection_made", spy_made)

            async def one(path: str) -> object:
                resp = await pool.request(origin, b"GET", path.encode(), b"", b"", read_timeout=0.3)
                async with resp:
                    return await resp.read()

            tasks = [asyncio.ensure_future(one(path)) for path, _, _ in plan]
            for task, (_, cancel, after) in zip(tasks, plan, strict=True):
                if cancel:
                    for _ in range(after):
                        await asyncio.sleep(0)  # cancel at various points of the exchange
                    task.cancel()
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
            for (path, cancel, _), outcome in zip(plan, outcomes, strict=True):
                if cancel and isinstance(outcome, asyncio.CancelledError):
                    continue
                want = expected[path]
                if isinstance(want, bytes):
                    assert outcome == want, (path, outcome)
                else:
                    assert isinstance(outcome, want), (path, outcome)
            (per_origin,) = pool._origins.values()
            assert 0 < peak[0] <= cap and srv.accepted > cap
            assert per_origin.open == len(per_origin.conns) <= cap
            assert len(per_origin.idle) <= per_origin.open and not per_origin.waiters
            assert all(not c.closed for c in per_origin.conns)
            await pool.close()
            await srv.wait_until(lambda: srv.open_now == 0)  # every connection was closed

    run(main)


def test_a_head_trickled_faster_than_the_read_timeout_is_still_bounded_by_it(run):
    """Every byte comes well within the read timeout, yet the head as a whole must be in within
    it: a byte at a time must not keep the exchange waiting for ever."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"

    async def handler(peer: Peer) -> None:
        await peer.read_request()
        with contextlib.suppress(ConnectionError):
            for i in range(len(head)):
                await peer.send(head[i : i + 1])
                await asyncio.sleep(0.05)  # a quarter of the read timeout below

    async def main():
        async with Server(handler) as srv:
            pool = Pool()
            with pytest.raises(UpstreamTimeout, match="no whole response head"):
                await pool_get(pool, Origin.from_url(srv.url), read_timeout=0.2)
            assert open_count(pool) == 0
            await pool.close()

    run(main)


def test_a_head_over_the_largest_is_refused_and_a_large_body_is_not(run):
    huge = b"HTTP/1.1 200 OK\r\nX-Pad: " + b"a" * MAX_HEAD_BYTES + b"\r\nContent-Length: 2\r\n\r\n{}"

    async def handler(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(huge)
        await peer.wait_client_close()

    async def main():
        async with Server(handler) as srv:
            pool = Pool()
            with pytest.raises(ProtocolError, match="head over"):
                await pool_get(pool, Origin.from_url(srv.url))
            await pool.close()
        # A body of many times that size, in the same write as its head, is only a body.
        body = b"x" * (4 * MAX_HEAD_BYTES)
        async with Server(keep_alive(lambda req: response(200, body))) as srv:
            pool = Pool()
            assert await fetch(pool, Origin.from_url(srv.url)) == (200, body)
            await pool.close()

    run(main)
