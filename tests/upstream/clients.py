"""The same small client interface over gateway.upstream.Pool and over aiohttp.ClientSession.

Parity tests run every case through both and expect the same observable result: status,
headers, body bytes, chunk concatenation, and the error class (aiohttp's exceptions are mapped
onto ours the way gateway/dataplane/proxy.py maps them).
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import aiohttp

from gateway.upstream import ConnectError, Origin, Pool, ProtocolError, UpstreamTimeout


@dataclass
class Result:
    status: int
    headers: dict[str, str]  # only the names a test asked for, lower-case
    body: bytes
    chunks: int = 1


OnChunk = Callable[[bytes], Awaitable[None]]


def open_count(pool: Pool) -> int:
    """Connections the pool holds open, idle or in use, across its origins."""
    return sum(s["open"] for s in pool.stats().values())


class Client:
    kind: str

    async def fetch(
        self,
        base_url: str,
        method: str = "GET",
        path: str = "/",
        *,
        body: bytes = b"",
        headers: list[tuple[str, str]] | None = None,
        want: tuple[str, ...] = (),
        read_timeout: float = 5.0,
        on_chunk: OnChunk | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> Result:
        """One request; the body is read whole, or chunk by chunk when `on_chunk` is given."""
        raise NotImplementedError

    def open_connections(self) -> int | None:
        """Connections the client holds open (None when the library does not say)."""
        return None

    async def close(self) -> None:
        raise NotImplementedError


class PoolClient(Client):
    kind = "pool"

    def __init__(self, max_per_origin: int = 256, connect_timeout: float = 5.0, **kw: object) -> None:
        self.pool = Pool(max_connections_per_origin=max_per_origin, connect_timeout=connect_timeout, **kw)  # type: ignore[arg-type]
        self._origins: dict[tuple[str, int], Origin] = {}

    def origin(self, base_url: str, ssl_context: ssl.SSLContext | None) -> Origin:
        key = (base_url, id(ssl_context))
        if key not in self._origins:
            self._origins[key] = Origin.from_url(base_url, ssl_context=ssl_context)
        return self._origins[key]

    async def fetch(
        self,
        base_url: str,
        method: str = "GET",
        path: str = "/",
        *,
        body: bytes = b"",
        headers: list[tuple[str, str]] | None = None,
        want: tuple[str, ...] = (),
        read_timeout: float = 5.0,
        on_chunk: OnChunk | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> Result:
        origin = self.origin(base_url, ssl_context)
        hdrs = [(k.encode(), v.encode()) for k, v in headers or []]
        resp = await self.pool.request(
            origin, method.encode(), path.encode(), hdrs, body, read_timeout=read_timeout
        )
        async with resp:
            picked = {k: resp.headers[k] for k in want if k in resp.headers}
            if on_chunk is None:
                return Result(resp.status, picked, await resp.read())
            parts = []
            async for chunk in resp:
                parts.append(chunk)
                await on_chunk(chunk)
            return Result(resp.status, picked, b"".join(parts), len(parts))

    def open_connections(self) -> int | None:
        return open_count(self.pool)

    async def close(self) -> None:
        await self.pool.close()


class AiohttpClient(Client):
    kind = "aiohttp"

    def __init__(self, max_per_origin: int = 256, connect_timeout: float = 5.0, **kw: object) -> None:
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=max_per_origin, keepalive_timeout=30)
        self.session = aiohttp.ClientSession(connector=connector, auto_decompress=False)
        self.connect_timeout = connect_timeout

    async def fetch(
        self,
        base_url: str,
        method: str = "GET",
        path: str = "/",
        *,
        body: bytes = b"",
        headers: list[tuple[str, str]] | None = None,
        want: tuple[str, ...] = (),
        read_timeout: float = 5.0,
        on_chunk: OnChunk | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> Result:
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.connect_timeout, sock_read=read_timeout)
        try:
            async with self.session.request(
                method,
                base_url + path,
                data=body if body or method not in ("GET", "HEAD") else None,
                headers=dict(headers or []),
                timeout=timeout,
                ssl=ssl_context if ssl_context is not None else True,
            ) as resp:
                picked = {k: resp.headers[k] for k in want if k in resp.headers}
                if on_chunk is None:
                    return Result(resp.status, picked, await resp.read())
                parts = []
                async for chunk in resp.content.iter_any():
                    parts.append(chunk)
                    await on_chunk(chunk)
                return Result(resp.status, picked, b"".join(parts), len(parts))
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise UpstreamTimeout(str(exc)) from exc
        except aiohttp.ClientConnectorError as exc:
            raise ConnectError(str(exc)) from exc
        except aiohttp.ClientError as exc:
            raise ProtocolError(str(exc)) from exc

    def open_connections(self) -> int | None:
        return None

    async def close(self) -> None:
        await self.session.close()


CLIENTS: dict[str, type[Client]] = {"pool": PoolClient, "aiohttp": AiohttpClient}


@contextlib.asynccontextmanager
async def make_client(kind: str, **kw: object) -> AsyncIterator[Client]:
    client = CLIENTS[kind](**kw)  # type: ignore[arg-type]
    try:
        yield client
    finally:
        await client.close()
