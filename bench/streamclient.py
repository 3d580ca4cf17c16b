"""The `stream` scenario's client: N keep-alive connections, each running one SSE stream after
another for the duration, timing every event as it arrives.

asyncio + httptools (llhttp) keep it light, since it shares the load core with the upstream.
Per stream: time to first byte (request written → first body byte; not for a connection's
first stream, whose request may wait in the server's accept queue) and the gaps between
consecutive content chunks (event i - event i-1 for events 2..chunks; event 0 is the role
chunk, which the mock sends together with content chunk 1).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import httptools

from .histogram import LogLinearHistogram

T = TypeVar("T")
EVENT_END = b"\n\n"  # an SSE event ends with a blank line


@dataclass
class StreamStats:
    ttfb: LogLinearHistogram = field(default_factory=LogLinearHistogram)
    gaps: LogLinearHistogram = field(default_factory=LogLinearHistogram)
    streams: int = 0  # completed with status 200 and every expected event
    events: int = 0
    errors: dict[str, int] = field(
        default_factory=lambda: {"connect": 0, "status": 0, "truncated": 0, "timeout": 0, "broken": 0}
    )

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


class _StreamProtocol(asyncio.Protocol):
    """One connection; `request()` sends a request and resolves with its event arrival times."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[tuple[int, list[int], bool]] | None = None
        self.status = 0
        self.times: list[int] = []
        self.tail = b""
        self.now = 0
        self.closed = False

    # asyncio callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.now = time.monotonic_ns()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(exc or ConnectionResetError("connection closed mid-response"))

    # httptools callbacks
    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        joined = self.tail + body
        # An event ending across two reads is counted once: only the last byte is carried over.
        self.times.extend([self.now] * joined.count(EVENT_END))
        self.tail = joined[-1:]

    def on_message_complete(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result((self.status, self.times, self.parser.should_keep_alive()))

    def _fail(self, exc: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)

    def request(self, raw: bytes) -> asyncio.Future[tuple[int, list[int], bool]]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.status, self.times, self.tail = 0, [], b""
        self.transport.write(raw)
        return self.waiter


def build_request(url: str, body: bytes, headers: dict[str, str]) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    lines = [f"POST {parts.path or '/'} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return host, port, ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _slot(
    host: str,
    port: int,
    raw: bytes,
    start_at: float,
    end_at: float,
    chunks: int,
    stream_timeout_s: float,
    stats: StreamStats,
) -> None:
    loop = asyncio.get_running_loop()
    await asyncio.sleep(max(0.0, start_at - loop.time()))  # the ramp: starts spread evenly
    proto: _StreamProtocol | None = None
    try:
        while loop.time() < end_at:
            first_on_connection = proto is None or proto.closed
            if first_on_connection:
                try:
                    transport, proto = await loop.create_connection(_StreamProtocol, host, port)
                    proto.transport = cast(asyncio.Transport, transport)  # connection_made may come later
                except OSError:
                    stats.errors["connect"] += 1
                    return
            assert proto is not None
            sent = time.monotonic_ns()
            try:
                status, times, keep_alive = await asyncio.wait_for(proto.request(raw), stream_timeout_s)
            except TimeoutError:
                stats.errors["timeout"] += 1
                _close(proto)
                proto = None
                continue
            except (OSError, httptools.HttpParserError):
                stats.errors["broken"] += 1
                _close(proto)
                proto = None
                continue
            if status != 200:
                stats.errors["status"] += 1
            elif len(times) < chunks + 1:
                stats.errors["truncated"] += 1
            else:
                stats.streams += 1
                stats.events += len(times)
                if not first_on_connection:
                    stats.ttfb.record(times[0] - sent)
                for i in range(2, chunks + 1):
                    stats.gaps.record(times[i] - times[i - 1])
            if not keep_alive:
                _close(proto)
                proto = None
    finally:
        _close(proto)


def _close(proto: _StreamProtocol | None) -> None:
    if proto is not None and proto.transport is not None:
        proto.transport.close()


async def run_streams(
    url: str,
    body: bytes,
    headers: dict[str, str],
    streams: int,
    duration_s: float,
    ramp_s: float,
    chunks: int,
    stream_timeout_s: float = 60.0,
) -> StreamStats:
    """Hold `streams` concurrent streams (started evenly over `ramp_s`) for `duration_s`."""
    host, port, raw = build_request(url, body, headers)
    loop = asyncio.get_running_loop()
    start = loop.time()
    stats = StreamStats()
    slots = [
        _slot(
            host,
            port,
            raw,
            start + ramp_s * i / streams,
            start + duration_s,
            chunks,
            stream_timeout_s,
            stats,
        )
        for i in range(streams)
    ]
    await asyncio.gather(*slots)
    return stats


def run_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` on a fresh event loop (uvloop when installed)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)
