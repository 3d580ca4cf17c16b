"""A real CONNECT proxy for tests: asyncio, on 127.0.0.1. It opens the tunnel a client asks for,
copies bytes both ways, and notes each tunnel's target and Proxy-Authorization; it can demand
credentials (407), refuse every tunnel (403), or never answer (a proxy that hangs).

Run it on the test's loop (`async with ConnectProxy() as proxy`) or, for a gateway in another
process, on a thread of its own (`with ConnectProxy().threaded() as proxy`)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class Tunnel:
    target: str  # host:port as the CONNECT line named it
    authorization: str | None
    status: int


@dataclass
class ConnectProxy:
    credentials: str | None = None  # "Basic …" the proxy demands, or None for any client
    refuse: bool = False  # answer every CONNECT 403
    hang: bool = False  # read the CONNECT and never answer
    port: int = 0
    tunnels: list[Tunnel] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def served(self, target: str) -> int:
        """Tunnels opened (status 200) to `target`."""
        return sum(1 for t in self.tunnels if t.target == target and t.status == 200)

    async def __aenter__(self) -> ConnectProxy:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @contextlib.contextmanager
    def threaded(self) -> Iterator[ConnectProxy]:
        """The proxy on a thread with its own event loop, for clients in other processes."""
        loop = asyncio.new_event_loop()
        started = threading.Event()
        stop: asyncio.Future[None] | None = None

        async def main() -> None:
            nonlocal stop
            stop = loop.create_future()
            async with self:
                started.set()
                await stop

        thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
        thread.start()
        assert started.wait(10), "the proxy did not start"
        try:
            yield self
        finally:
            loop.call_soon_threadsafe(lambda: stop is not None and stop.set_result(None))
            thread.join(10)
            loop.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._tunnel(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _tunnel(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        method, target, _ = head[0].split(" ", 2)
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)
        }
        authorization = headers.get("proxy-authorization")
        if self.hang:
            await asyncio.Event().wait()
        if method != "CONNECT":
            status = 405
        elif self.refuse:
            status = 403
        elif self.credentials is not None and authorization != self.credentials:
            status = 407
        else:
            status = 200
        self.tunnels.append(Tunnel(target, authorization, status))
        if status != 200:
            writer.write(f"HTTP/1.1 {status} No\r\nContent-Length: 0\r\n\r\n".encode())
            await writer.drain()
            return
        host, _, port = target.rpartition(":")
        up_reader, up_writer = await asyncio.open_connection(host.strip("[]"), int(port))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            up_writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
