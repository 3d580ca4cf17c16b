"""Origin parsing, header encoding, and the connection's parser fed arbitrary splits of the wire.

The split test drives a Connection through a stand-in transport, so hypothesis can cut the
response bytes at every possible point — something a real socket would only do by chance.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.upstream import Origin, ProtocolError, encode_headers
from gateway.upstream.connection import Connection
from gateway.upstream.response import Response

from .servers import response


@pytest.mark.parametrize(
    ("url", "scheme", "host", "port", "host_header", "prefix"),
    [
        ("http://127.0.0.1:8080", "http", "127.0.0.1", 8080, b"127.0.0.1:8080", b""),
        ("https://API.openai.com/v1/", "https", "api.openai.com", 443, b"api.openai.com", b"/v1"),
        ("http://example.com:80/a/b", "http", "example.com", 80, b"example.com", b"/a/b"),
        ("https://example.com:8443", "https", "example.com", 8443, b"example.com:8443", b""),
        ("http://[::1]:9000/x", "http", "::1", 9000, b"[::1]:9000", b"/x"),
    ],
)
def test_origin_from_url(url, scheme, host, port, host_header, prefix):
    o = Origin.from_url(url)
    assert (o.scheme, o.host, o.port, o.host_header, o.path_prefix) == (
        scheme,
        host,
        port,
        host_header,
        prefix,
    )
    assert (o.ssl is not None) == (scheme == "https")
    assert o.is_ip == (host in ("127.0.0.1", "::1"))
    assert Origin.from_url(url).key == o.key


@pytest.mark.parametrize(
    "url", ["ftp://x", "http://", "http://u:p@host", "http://host/?q=1", "http://host:99999", "host:80"]
)
def test_origin_rejects(url):
    with pytest.raises(ValueError):
        Origin.from_url(url)


def test_custom_ssl_context_gets_its_own_pool_key():
    import ssl

    ctx = ssl.create_default_context()
    assert Origin.from_url("https://h", ssl_context=ctx).key != Origin.from_url("https://h").key
    assert Origin.from_url("https://h", ssl_context=ctx).ssl is ctx
    with pytest.raises(ValueError):
        Origin.from_url("http://h", ssl_context=ctx)


def test_encode_headers():
    assert (
        encode_headers([("Authorization", "Bearer x"), (b"X-A", b"1")])
        == b"Authorization: Bearer x\r\nX-A: 1\r\n"
    )
    for bad in [
        ("X", "a\r\nEvil: 1"),
        ("X\n", "a"),
        ("", "a"),
        ("A B", "c"),
        ("A:", "b"),
        ("Host", "h"),
        ("content-length", "1"),
    ]:
        with pytest.raises(ValueError):
            encode_headers([bad])


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.closed = False
        self.paused = False

    def write(self, data: Any) -> None:
        self.written.append(bytes(data))

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


class FakeOriginPool:
    def __init__(self) -> None:
        self.released = 0
        self.forgotten = 0

    def release(self, conn: Connection) -> None:
        self.released += 1

    def forget(self, conn: Connection) -> None:
        self.forgotten += 1


_token = st.text("abcdefghijklmnopqrstuvwxyz-XYZ0123456789", min_size=1, max_size=24)
# Header values: visible ASCII with inner spaces, and the whitespace around it llhttp allows.
_value = st.text("abc XYZ,;=/0123456789:", max_size=40).map(lambda v: v.strip())
header = st.one_of(
    st.tuples(_token, _value),
    st.tuples(st.sampled_from(["X-RateLimit-Remaining-Requests", "x-ratelimit-remaining-tokens"]), _value),
)
WATCH = frozenset({b"x-ratelimit-remaining-requests", b"x-ratelimit-remaining-tokens"})

exchange = st.tuples(
    st.sampled_from(["GET", "HEAD"]),
    st.sampled_from([200, 204, 304, 404]),
    st.binary(max_size=600),
    st.sampled_from(["length", "chunked"]),
    st.lists(st.integers(min_value=1, max_value=97), max_size=8),  # chunk sizes
    st.lists(st.integers(min_value=0, max_value=2000), max_size=12),  # cut points in the wire bytes
    st.lists(header, max_size=5),
    st.booleans(),  # a 1xx interim response first
)


def _wire(
    status: int, body: bytes, framing: str, sizes: list[int], headers: list[tuple[str, str]]
) -> tuple[bytes, bytes]:
    if status in (204, 304):
        return response(status, headers=headers, framing="none"), b""
    chunks, rest = [], body
    for n in sizes:
        if rest:
            chunks.append(rest[:n])
            rest = rest[n:]
    if rest or not chunks:
        chunks.append(rest)
    return response(status, body, headers, chunks=chunks, framing=framing), body


def _cut(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points) if b > a]


@settings(max_examples=150, deadline=None)
@given(st.lists(exchange, min_size=1, max_size=4), st.binary(max_size=300))
def test_any_split_of_a_keep_alive_sequence_parses_the_same(exchanges, last_body):
    async def main():
        loop = asyncio.get_running_loop()
        conn = Connection(loop, WATCH)
        transport = FakeTransport()
        conn.connection_made(transport)
        origin_pool = FakeOriginPool()
        conn.origin_pool = origin_pool  # type: ignore[assignment]
        for method, status, body, framing, sizes, cuts, headers, interim in exchanges:
            wire, expected = _wire(status, body, framing, sizes, headers)
            if method == "HEAD":  # same headers, never a body
                wire, expected = wire[: len(wire) - len(wire.split(b"\r\n\r\n", 1)[1])], b""
            if interim:
                wire = b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" + wire
            resp = Response(loop, conn, 1 << 20)
            conn.send(resp, method.encode() + b" / HTTP/1.1\r\n\r\n", b"", 5.0, method == "HEAD")
            for piece in _cut(wire, cuts):
                conn.data_received(piece)
            assert resp._head.done() and resp.status == status
            sent = [(k.encode(), v.encode()) for k, v in headers]
            assert resp.raw_headers[: len(sent)] == sent  # then the framing header, if any
            assert resp.watched == any(k.lower().encode() in WATCH for k, _ in headers)
            assert await resp.read() == expected
            assert not transport.closed
        # A final close-delimited body ends with the connection.
        resp = Response(loop, conn, 1 << 20)
        conn.send(resp, b"GET / HTTP/1.1\r\n\r\n", b"", 5.0, False)
        for piece in _cut(b"HTTP/1.1 200 OK\r\n\r\n" + last_body, [7, 31, 77]):
            conn.data_received(piece)
        conn.eof_received()
        conn.connection_lost(None)
        assert await resp.read() == last_body
        assert (origin_pool.released, origin_pool.forgotten) == (len(exchanges), 1)

    asyncio.run(main())


def test_truncated_chunked_body_is_a_protocol_error():
    async def main():
        loop = asyncio.get_running_loop()
        conn = Connection(loop)
        conn.connection_made(FakeTransport())
        resp = Response(loop, conn, 1 << 20)
        conn.send(resp, b"GET / HTTP/1.1\r\n\r\n", b"", 5.0, False)
        conn.data_received(response(200, chunks=[b"abc", b"def"], framing="chunked")[:-8])
        conn.eof_received()
        with pytest.raises(ProtocolError):
            await resp.read()

    asyncio.run(main())


def test_chunked_trailers_are_not_headers():
    async def main():
        loop = asyncio.get_running_loop()
        conn = Connection(loop)
        conn.connection_made(FakeTransport())
        origin_pool = FakeOriginPool()
        conn.origin_pool = origin_pool  # type: ignore[assignment]
        resp = Response(loop, conn, 1 << 20)
        conn.send(resp, b"GET / HTTP/1.1\r\n\r\n", b"", 5.0, False)
        wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n"
        conn.data_received(wire + b"3\r\nabc\r\n0\r\nX-T: late\r\n\r\n")
        assert await resp.read() == b"abc"
        assert "x-t" not in resp.headers and resp.headers["trailer"] == "X-T"
        assert origin_pool.released == 1

    asyncio.run(main())
