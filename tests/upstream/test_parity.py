"""The same cases against gateway.upstream.Pool and aiohttp.ClientSession: same observable result.

Each test is parametrised over the client (`kind`) and the event loop (`run`); the expected
values are written once, so both clients are held to the same behaviour.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket

import pytest

from gateway.upstream import ConnectError, ProtocolError, UpstreamTimeout

from .clients import make_client
from .servers import Peer, Request, Server, encode_chunk, keep_alive, response

JSON = [("Content-Type", "application/json"), ("X-Custom", "Abc")]


def test_content_length_body_status_headers_and_request_bytes(run, kind):
    async def main():
        srv = Server(keep_alive(lambda req: response(201, b'{"ok":true}' + req.body, JSON)))
        async with srv, make_client(kind) as client:
            res = await client.fetch(
                srv.url,
                "POST",
                "/v1/chat/completions",
                body=b"hello",
                headers=[("Authorization", "Bearer sk-test")],
                want=("content-type", "x-custom", "content-length"),
            )
        assert res.status == 201
        assert res.headers == {"content-type": "application/json", "x-custom": "Abc", "content-length": "16"}
        assert res.body == b'{"ok":true}hello'
        (req,) = srv.requests
        assert (req.method, req.path, req.body) == ("POST", "/v1/chat/completions", b"hello")
        assert req.headers["host"] == f"127.0.0.1:{srv.port}"
        assert req.headers["authorization"] == "Bearer sk-test"
        assert req.headers["content-length"] == "5"

    run(main)


def test_chunked_body(run, kind):
    parts = [b"first,", b"second,", b"x" * 10_000, b"last"]

    async def main():
        srv = Server(keep_alive(lambda req: response(200, chunks=parts, framing="chunked")))
        async with srv, make_client(kind) as client:
            res = await client.fetch(srv.url)
        assert (res.status, res.body) == (200, b"".join(parts))

    run(main)


@pytest.mark.parametrize("tls", [False, True])
def test_close_delimited_body_and_no_reuse(run, kind, tls, cert):
    async def handler(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(response(200, b"until the end", framing="close"))
        # returning closes the connection: that is where the body ends

    async def main():
        ctx = cert.client_context() if tls else None
        async with (
            Server(handler, ssl=cert.server_context() if tls else None) as srv,
            make_client(kind) as client,
        ):
            first = await client.fetch(srv.url, ssl_context=ctx)
            second = await client.fetch(srv.url, ssl_context=ctx)
        assert first.body == second.body == b"until the end"
        assert srv.accepted == 2

    run(main)


def test_empty_body(run, kind):
    async def main():
        srv = Server(keep_alive(lambda req: response(200, b"")))
        async with srv, make_client(kind) as client:
            res = await client.fetch(srv.url, "POST", "/", body=b"{}")
            again = await client.fetch(srv.url)
        assert (res.status, res.body, again.body) == (200, b"", b"")
        assert srv.accepted == 1

    run(main)


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_statuses_and_reuse(run, kind, status):
    async def main():
        srv = Server(keep_alive(lambda req: response(status, framing="none", headers=[("ETag", "x")])))
        async with srv, make_client(kind) as client:
            results = [await client.fetch(srv.url, want=("etag",)) for _ in range(3)]
        assert [(r.status, r.body, r.headers) for r in results] == [(status, b"", {"etag": "x"})] * 3
        assert srv.accepted == 1

    run(main)


def test_head_has_no_body_and_connection_is_reused(run, kind):
    async def main():
        srv = Server(
            keep_alive(lambda req: response(200, b"x" * 50)[: -50 if req.method == "HEAD" else None])
        )
        async with srv, make_client(kind) as client:
            head = await client.fetch(srv.url, "HEAD", want=("content-length",))
            get = await client.fetch(srv.url, "GET")
        assert (head.status, head.body, head.headers) == (200, b"", {"content-length": "50"})
        assert get.body == b"x" * 50
        assert srv.accepted == 1

    run(main)


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_large_body(run, kind, framing):
    big = bytes(range(256)) * (6 * 1024 * 1024 // 256)  # 6 MiB

    async def main():
        chunks = [big[i : i + 1_000_000] for i in range(0, len(big), 1_000_000)]
        srv = Server(keep_alive(lambda req: response(200, big, chunks=chunks, framing=framing)))
        async with srv, make_client(kind) as client:
            res = await client.fetch(srv.url)
        assert len(res.body) == len(big)
        assert hashlib.sha256(res.body).digest() == hashlib.sha256(big).digest()

    run(main)


def test_sse_chunks_are_delivered_as_they_arrive(run, kind):
    events = [b'data: {"n": %d}\n\n' % i for i in range(5)] + [b"data: [DONE]\n\n"]

    async def main():
        seen = asyncio.Queue[bytes]()

        async def handler(peer: Peer) -> None:
            await peer.read_request()
            await peer.send(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            received = b""
            for event in events:
                await peer.send(encode_chunk(event))
                # The next event only goes out once the client has handed this one to us, so a
                # client that buffered the stream would never see the end.
                while not received.endswith(event):
                    received += await seen.get()
            await peer.send(b"0\r\n\r\n")

        async def on_chunk(chunk: bytes) -> None:
            seen.put_nowait(chunk)

        srv = Server(handler)
        async with srv, make_client(kind) as client:
            res = await client.fetch(srv.url, "POST", body=b"{}", on_chunk=on_chunk, want=("content-type",))
        assert res.status == 200
        assert res.headers == {"content-type": "text/event-stream"}
        assert res.body == b"".join(events)
        assert res.chunks >= len(events)

    run(main)


def test_server_closes_idle_connection_between_requests(run, kind):
    async def handler(peer: Peer) -> None:
        if await peer.read_request():
            await peer.send(response(200, b"one per connection"))
        # then close the keep-alive connection while the client holds it idle

    async def main():
        async with Server(handler) as srv, make_client(kind) as client:
            first = await client.fetch(srv.url)
            await srv.wait_until(lambda: srv.open_now == 0)  # the server side is closed
            second = await client.fetch(srv.url)
        assert first.body == second.body == b"one per connection"
        assert srv.accepted == 2

    run(main)


def test_stale_connection_is_retried_once_when_nothing_was_received(run, kind):
    # The close races the reuse: the request reaches a connection the server is dropping.
    # (GET: aiohttp retries only idempotent methods; the pool's POST case is in test_pool.)
    async def handler(peer: Peer) -> None:
        if peer.server.accepted == 1:
            await peer.read_request()
            await peer.send(response(200, b"first"))
            await peer.read_request()  # ... and close without answering
            return
        await keep_alive(lambda req: response(200, b"fresh"))(peer)

    async def main():
        async with Server(handler) as srv, make_client(kind) as client:
            first = await client.fetch(srv.url)
            second = await client.fetch(srv.url, "GET", "/again")
        assert (first.body, second.body) == (b"first", b"fresh")
        assert srv.accepted == 2
        assert [r.path for r in srv.requests] == ["/", "/again", "/again"]

    run(main)


@pytest.mark.parametrize("how", ["reset", "close"])
def test_connection_broken_mid_body(run, kind, how):
    async def handler(peer: Peer) -> None:
        await peer.read_request()
        head = response(200, b"x" * 100_000)
        await peer.send(head[: len(head) - 90_000])
        if how == "reset":
            peer.reset()

    async def main():
        async with Server(handler) as srv, make_client(kind) as client:
            with pytest.raises(ProtocolError):
                await client.fetch(srv.url)

    run(main)


def test_malformed_response(run, kind):
    async def handler(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(b"HTTP/1.1 2xx Nope\r\nContent-Length: 0\r\n\r\n")

    async def main():
        async with Server(handler) as srv, make_client(kind) as client:
            with pytest.raises(ProtocolError):
                await client.fetch(srv.url)

    run(main)


@pytest.mark.parametrize("stall", ["before_headers", "mid_body"])
def test_read_timeout(run, kind, stall):
    async def handler(peer: Peer) -> None:
        await peer.read_request()
        if stall == "mid_body":
            await peer.send(response(200, b"x" * 1000)[:-500])
        await peer.server.release.wait()

    async def main():
        async with Server(handler) as srv, make_client(kind) as client:
            with pytest.raises(UpstreamTimeout):
                await client.fetch(srv.url, read_timeout=0.2)

    run(main)


def test_connection_refused(run, kind):
    async def main():
        # Bound but not listening: connecting is refused, and no one else can take the port.
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
            async with make_client(kind) as client:
                with pytest.raises(ConnectError):
                    await client.fetch(f"http://127.0.0.1:{port}")

    run(main)


def test_tls_with_custom_context_and_sni(run, kind, cert):
    async def main():
        sni: list[str | None] = []
        srv = Server(
            keep_alive(lambda req: response(200, b"secure " + req.path.encode())),
            ssl=cert.server_context(sni),
        )
        async with srv, make_client(kind) as client:
            res = await client.fetch(srv.url, "GET", "/tls", ssl_context=cert.client_context())
            again = await client.fetch(srv.url, "GET", "/tls", ssl_context=cert.client_context())
        assert (res.status, res.body, again.body) == (200, b"secure /tls", b"secure /tls")
        assert sni and set(sni) == {"localhost"}

    run(main)


def test_tls_untrusted_certificate_is_a_connect_error(run, kind, cert):
    async def main():
        srv = Server(keep_alive(lambda req: response(200, b"never")), ssl=cert.server_context())
        async with srv, make_client(kind) as client:
            with pytest.raises(ConnectError):
                await client.fetch(srv.url)  # default context: the self-signed cert is not trusted

    run(main)


def test_connect_timeout_when_tls_handshake_never_completes(run, kind):
    async def handler(peer: Peer) -> None:
        await peer.server.release.wait()  # plain TCP: never answers the ClientHello

    async def main():
        async with Server(handler) as srv, make_client(kind, connect_timeout=0.2) as client:
            with pytest.raises(UpstreamTimeout):
                await client.fetch(f"https://127.0.0.1:{srv.port}")

    run(main)


def test_pool_cap_with_concurrent_requests(run, kind):
    cap, total = 3, 12

    async def main():
        gate = asyncio.Event()

        async def handler(peer: Peer) -> None:
            while (req := await peer.read_request()) is not None:
                if len(peer.server.requests) >= cap:
                    gate.set()
                await gate.wait()  # hold the first answers until the cap's worth is in flight
                await peer.send(response(200, req.path.encode()))

        async with Server(handler) as srv, make_client(kind, max_per_origin=cap) as client:
            results = await asyncio.gather(*(client.fetch(srv.url, "GET", f"/{i}") for i in range(total)))
        assert sorted(r.body for r in results) == sorted(f"/{i}".encode() for i in range(total))
        assert srv.accepted == cap
        assert srv.max_open == cap

    run(main)


def test_sequential_requests_reuse_one_connection(run, kind):
    def answer(req: Request) -> bytes:
        if req.path == "/chunked":
            return response(200, chunks=[b"a", b"b"], framing="chunked")
        if req.path == "/204":
            return response(204, framing="none")
        return response(200, req.path.encode())

    async def main():
        async with Server(keep_alive(answer)) as srv, make_client(kind) as client:
            bodies = [(await client.fetch(srv.url, "GET", p)).body for p in ("/a", "/chunked", "/204", "/b")]
            bodies.append((await client.fetch(srv.url, "POST", "/c", body=b"{}")).body)
        assert bodies == [b"/a", b"ab", b"", b"/b", b"/c"]
        assert srv.accepted == 1

    run(main)


def test_connection_close_header_is_honoured(run, kind):
    async def main():
        srv = Server(keep_alive(lambda req: response(200, b"bye", [("Connection", "close")])))
        async with srv, make_client(kind) as client:
            bodies = [(await client.fetch(srv.url)).body for _ in range(2)]
        assert bodies == [b"bye", b"bye"]
        assert srv.accepted == 2

    run(main)


@pytest.mark.parametrize("where", ["headers", "body"])
def test_cancellation_closes_the_connection(run, kind, where):
    async def handler(peer: Peer) -> None:
        req = await peer.read_request()
        if req and req.path == "/stall":
            if where == "body":
                await peer.send(response(200, chunks=[b"partial"], framing="chunked")[:-5])
            await peer.wait_client_close()  # the cancelled client must hang up
            return
        while req is not None:
            await peer.send(response(200, b"ok"))
            req = await peer.read_request()

    async def main():
        got_chunk = asyncio.Event()

        async def on_chunk(chunk: bytes) -> None:
            got_chunk.set()

        async with Server(handler) as srv, make_client(kind) as client:
            task = asyncio.ensure_future(client.fetch(srv.url, "GET", "/stall", on_chunk=on_chunk))
            if where == "body":
                await got_chunk.wait()
            else:
                await srv.wait_until(lambda: len(srv.requests) == 1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await srv.wait_until(lambda: srv.open_now == 0)  # the stalled connection was closed
            if client.open_connections() is not None:
                assert client.open_connections() == 0
            res = await client.fetch(srv.url, "GET", "/after")
        assert res.body == b"ok"
        assert srv.accepted == 2

    run(main)
