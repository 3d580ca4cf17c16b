"""Keep-alive connections per origin: LIFO reuse, a cap with FIFO waiters, idle expiry.

Slot accounting is synchronous: a slot is taken before connecting and given back the moment a
connection ends (`OriginPool.forget`), so the cap holds however a connection dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import deque
from collections.abc import Iterable

from .connection import Connection
from .errors import ConnectError, ProtocolError, UpstreamError, UpstreamTimeout
from .origin import Origin, encode_headers
from .response import Response
from .tunnel import open_tunnel

__all__ = ["Pool"]

DNS_TTL_S = 60.0  # seconds a resolved address list is reused for new connections, by default


class OriginPool:
    """The pool's connections to one origin: idle ones, the count open against the cap, and the
    requests waiting for one."""

    __slots__ = (
        "addrs",
        "addrs_until",
        "cap",
        "connect_timeout",
        "conns",
        "dns_ttl",
        "idle",
        "open",
        "origin",
        "pool",
        "waiters",
    )

    def __init__(self, pool: Pool, origin: Origin) -> None:
        self.pool = pool
        self.origin = origin
        # The origin's own settings (its provider's), else the pool's.
        self.cap = origin.max_connections or pool.max_per_origin
        self.connect_timeout = origin.connect_timeout or pool.connect_timeout
        self.dns_ttl = DNS_TTL_S if origin.dns_ttl is None else origin.dns_ttl
        self.idle: deque[Connection] = deque()  # oldest on the left, most recent on the right
        self.open = 0  # connections open or being opened: never above the cap
        self.conns: set[Connection] = set()
        # None = a slot was freed for the waiter to connect with; a Connection = handed over.
        self.waiters: deque[asyncio.Future[Connection | None]] = deque()
        self.addrs: list[str] = []
        self.addrs_until = 0.0

    async def acquire(self, fresh: bool) -> tuple[Connection, bool]:
        """A connection and whether it was used before. `fresh` skips idle connections."""
        idle = self.idle
        if idle and not fresh:
            # LIFO: the most recently used connection is the least likely to have been closed.
            conn = idle.pop()
            conn.idle = False
            return conn, True
        pool = self.pool
        if fresh and idle and self.open >= self.cap:
            idle[0].close()  # trade the oldest idle connection's slot for a fresh one
        if self.open < self.cap and not self.waiters:
            self.open += 1
            return await self._connect(), False
        fut: asyncio.Future[Connection | None] = pool.loop.create_future()
        self.waiters.append(fut)
        try:
            got = await fut
        except BaseException:
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                # Handed something just as we were cancelled: pass it on.
                handed = fut.result()
                if handed is None:
                    self.open -= 1
                    self._grant()
                else:
                    self.release(handed)
            else:
                with contextlib.suppress(ValueError):
                    self.waiters.remove(fut)
            raise
        if got is None:
            return await self._connect(), False
        return got, True

    def release(self, conn: Connection) -> None:
        """`conn` finished a response and may be reused."""
        waiters = self.waiters
        while waiters:
            w = waiters.popleft()
            if not w.done():
                w.set_result(conn)
                return
        pool = self.pool
        if pool.closed:
            conn.close()
            return
        conn.idle = True
        conn.idle_since = pool.loop.time()
        self.idle.append(conn)
        if pool.sweeper is None:
            pool.schedule_sweep()

    def forget(self, conn: Connection) -> None:
        """`conn` has ended: free its slot."""
        if conn.idle:
            conn.idle = False
            self.idle.remove(conn)
        self.conns.discard(conn)
        self.open -= 1
        self._grant()

    def _grant(self) -> None:
        waiters = self.waiters
        while waiters and self.open < self.cap:
            w = waiters.popleft()
            if not w.done():
                self.open += 1
                w.set_result(None)
                return

    async def _connect(self) -> Connection:
        # The caller has taken a slot for this connection; give it back on any failure.
        pool = self.pool
        try:
            async with asyncio.timeout(self.connect_timeout):
                conn = await self._open()
        except BaseException as exc:
            self.open -= 1
            self._grant()
            if isinstance(exc, TimeoutError):
                raise UpstreamTimeout(f"connect to {self.origin!r} timed out") from None
            raise
        if conn.closed:  # lost before it was ours to count
            self.open -= 1
            self._grant()
            raise ConnectError(f"connection to {self.origin!r} closed at once")
        conn.origin_pool = self
        self.conns.add(conn)
        if pool.closed:  # closed while we were connecting
            conn.close()
            raise UpstreamError("the upstream pool is closed")
        return conn

    async def _open(self) -> Connection:
        loop = self.pool.loop
        o = self.origin
        proxy = o.proxy
        # Through a proxy, only its name is resolved here: the tunnel names the upstream's.
        host, port = (o.host, o.port) if proxy is None else (proxy.host, proxy.port)
        last: BaseException | None = None
        for addr in await self._resolve(host, port):
            conn = Connection(loop, self.pool.watch)
            try:
                if proxy is None:
                    await loop.create_connection(
                        lambda c=conn: c,
                        addr,
                        o.port,
                        ssl=o.ssl,
                        server_hostname=o.host if o.ssl is not None else None,
                    )
                else:
                    sock = await open_tunnel(loop, addr, proxy, o.host, o.port)
                    await loop.create_connection(
                        lambda c=conn: c,
                        sock=sock,
                        ssl=o.ssl,
                        server_hostname=o.host if o.ssl is not None else None,
                    )
            except OSError as exc:  # includes ssl.SSLError and certificate failures
                last = exc  # try the next address
                continue
            return conn
        self.addrs_until = 0.0  # every address failed: resolve again next time
        via = "" if proxy is None else f" through {proxy!r}"
        raise ConnectError(f"cannot connect to {o!r}{via}: {last}") from None

    async def _resolve(self, host: str, port: int) -> list[str]:
        if self.origin.is_ip and self.origin.proxy is None:
            return [host]
        loop = self.pool.loop
        if self.addrs and loop.time() < self.addrs_until:
            return self.addrs
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise ConnectError(f"cannot resolve {host!r}: {exc}") from None
        self.addrs = list(dict.fromkeys(str(info[4][0]) for info in infos))
        self.addrs_until = loop.time() + self.dns_ttl
        return self.addrs


class Pool:
    """HTTP/1.1 client with pooled keep-alive connections. One per worker, made for its loop (the
    running one unless `loop` is given)."""

    def __init__(
        self,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        max_connections_per_origin: int = 256,
        connect_timeout: float = 5.0,
        idle_timeout: float = 30.0,
        stream_buffer_limit: int = 256 * 1024,
        watch_headers: Iterable[bytes] = (),
    ) -> None:
        if max_connections_per_origin < 1:
            raise ValueError("max_connections_per_origin must be at least 1")
        if idle_timeout <= 0 or connect_timeout <= 0:
            raise ValueError("timeouts must be positive")
        self.loop = loop or asyncio.get_running_loop()
        self.max_per_origin = max_connections_per_origin
        self.connect_timeout = connect_timeout
        self.idle_timeout = idle_timeout
        # Bytes a streamed body may buffer before the socket stops being read.
        self.stream_buffer_limit = stream_buffer_limit
        # Responses carrying any of these headers (any case) get `watched` set, so a caller can
        # skip decoding the headers of the others.
        self.watch = frozenset(name.lower() for name in watch_headers)
        self.closed = False
        self.sweeper: asyncio.TimerHandle | None = None
        self._origins: dict[str, OriginPool] = {}
        self._paths: set[bytes] = set()  # request paths known to be valid

    async def request(
        self,
        origin: Origin,
        method: bytes,
        path: bytes,
        headers: bytes | list[tuple[bytes, bytes]],
        body: bytes,
        *,
        read_timeout: float,
    ) -> Response:
        """Send one request; return once the status and headers are in.

        `path` is appended to the origin's path prefix (`b"/chat/completions"`). `headers` is
        a block from `encode_headers` (reuse it) or pairs; Host and Content-Length are added
        here. Read the body or `release()` the response (or use `async with`).
        """
        per_origin = self._origins.get(origin.key)
        if per_origin is None:
            per_origin = self._add(origin)
        if not isinstance(headers, bytes):
            headers = encode_headers(headers)
        if path not in self._paths:  # checked once per distinct path (callers reuse a few)
            if path.find(b"\n") >= 0 or path.find(b"\r") >= 0 or path.find(b" ") >= 0:
                raise ValueError(f"invalid request path {path!r}")
            if len(self._paths) < 1024:
                self._paths.add(path)
        is_head = method == b"HEAD"
        if body or not (is_head or method == b"GET"):
            head = b"%s %s%s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n%s\r\n" % (
                method,
                origin.path_prefix,
                path,
                origin.host_header,
                len(body),
                headers,
            )
        else:
            head = b"%s %s%s HTTP/1.1\r\nHost: %s\r\n%s\r\n" % (
                method,
                origin.path_prefix,
                path,
                origin.host_header,
                headers,
            )
        idle = per_origin.idle
        if idle:  # the common case, inline: the most recently used idle connection
            conn = idle.pop()
            conn.idle = False
            reused = True
        else:
            conn, reused = await per_origin.acquire(False)
        resp = Response(self.loop, conn, self.stream_buffer_limit)  # _exchange(), inline
        try:
            conn.send(resp, head, body, read_timeout, is_head)
            await resp._head
        except BaseException as exc:
            # Failed or cancelled half-way: this connection is in an unknown state.
            conn.abandon(resp)
            if not isinstance(exc, ProtocolError) or not reused or conn.received:
                raise
        else:
            return resp
        # The server closed this idle connection as we reused it and nothing of a response
        # came back: the request was not processed, so send it once more on a new connection.
        conn, _ = await per_origin.acquire(True)
        return await self._exchange(conn, head, body, read_timeout, is_head)

    async def _exchange(
        self, conn: Connection, head: bytes, body: bytes, read_timeout: float, is_head: bool
    ) -> Response:
        resp = Response(self.loop, conn, self.stream_buffer_limit)
        try:
            conn.send(resp, head, body, read_timeout, is_head)
            await resp._head
        except BaseException:
            # Failed or cancelled half-way: this connection is in an unknown state.
            conn.abandon(resp)
            raise
        return resp

    def _add(self, origin: Origin) -> OriginPool:
        if self.closed:
            raise UpstreamError("the upstream pool is closed")
        per_origin = self._origins[origin.key] = OriginPool(self, origin)
        return per_origin

    def schedule_sweep(self) -> None:
        # Half the idle timeout: a connection idles at most 1.5x idle_timeout before closing.
        self.sweeper = self.loop.call_later(self.idle_timeout / 2, self._sweep)

    def _sweep(self) -> None:
        self.sweeper = None
        expired = self.loop.time() - self.idle_timeout
        any_idle = False
        for per_origin in self._origins.values():
            idle = per_origin.idle
            while idle and idle[0].idle_since <= expired:
                idle[0].close()  # `forget` takes it off the deque
            any_idle = any_idle or bool(idle)
        if any_idle:
            self.schedule_sweep()

    def stats(self) -> dict[str, dict[str, int]]:
        """Per origin key: connections open (or opening), idle, and requests waiting for one."""
        return {
            key: {"open": h.open, "idle": len(h.idle), "waiting": len(h.waiters)}
            for key, h in self._origins.items()
        }

    async def close(self) -> None:
        """Close every connection; requests in flight fail, later ones raise UpstreamError."""
        self.closed = True
        if self.sweeper is not None:
            self.sweeper.cancel()
            self.sweeper = None
        closing = []
        for per_origin in self._origins.values():
            while per_origin.waiters:
                w = per_origin.waiters.popleft()
                if not w.done():
                    w.set_exception(UpstreamError("the upstream pool is closed"))
            for conn in list(per_origin.conns):
                closing.append(conn.wait_closed())
                conn.close(UpstreamError("the upstream pool is closed"))
        self._origins.clear()
        if closing:
            # Bounded: a TLS peer that never answers close_notify must not hang shutdown.
            await asyncio.wait(closing, timeout=self.connect_timeout)
