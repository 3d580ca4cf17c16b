"""Send an admitted request upstream and relay the answer, streaming chunk by chunk.

OpenAI-format upstreams get the caller's original bytes (only `model` is rewritten when the
deployment names another upstream model), so fields aigw does not know pass through intact.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import orjson

from ..durations import parse_go_duration
from ..upstream import ConnectError, Pool, Response, UpstreamError, UpstreamTimeout
from . import errors
from .targets import Target

log = logging.getLogger("aigw.proxy")

SSE_HEADERS = [("content-type", "text/event-stream"), ("cache-control", "no-cache")]


class Upstream:
    """One pooled, keep-alive HTTP client per worker (gateway/upstream: httptools, no aiohttp)."""

    def __init__(self, max_connections: int, connect_timeout_s: float):
        self._max = max_connections
        self._connect_timeout = connect_timeout_s
        self._pool: Pool | None = None

    def pool(self) -> Pool:
        # Created on first use, inside the worker's running loop.
        if self._pool is None:
            self._pool = Pool(max_connections_per_origin=self._max, connect_timeout=self._connect_timeout)
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()


def rewrite_model(body: bytes, model: str) -> bytes:
    doc: dict[str, Any] = orjson.loads(body)
    doc["model"] = model
    return orjson.dumps(doc)


def total_tokens(data: bytes) -> int:
    """usage.total_tokens of an OpenAI response or SSE chunk, without decoding it (-1: none)."""
    at = data.rfind(b'"total_tokens":')
    if at < 0:
        return -1
    digits = data[at + 15 : at + 40].lstrip(b" ")
    end = 0
    while end < len(digits) and 48 <= digits[end] <= 57:
        end += 1
    return int(digits[:end]) if end else -1


def cooldown_s(headers: Any) -> float | None:
    """How long a provider's 429 asks us to wait: retry-after(-ms), else its reset header; None
    when it says nothing (the key then backs off exponentially)."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value:
            try:
                return max(float(value) * scale, 0.001)
            except ValueError:
                pass
    for name in ("x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"):
        value = headers.get(name)
        seconds = parse_go_duration(value) if value else None
        if seconds:
            return seconds
    return None


async def send(
    upstream: Upstream, target: Target, endpoint: bytes, body: bytes, requested_model: str
) -> Response:
    """One attempt: the request goes out with this target's key; errors become GatewayErrors."""
    if requested_model != target.upstream_model:
        body = rewrite_model(body, target.upstream_model)
    try:
        return await upstream.pool().request(
            target.origin, b"POST", endpoint, target.header_block, body, read_timeout=target.timeout_s
        )
    except UpstreamError as exc:
        raise _failure(exc, target) from None


async def relay(
    proto: Any, resp: Response, target: Target, stream: bool, base_headers: list[tuple[str, str]]
) -> int:
    """Answer the caller with a successful upstream response; returns its total_tokens (-1: none)."""
    if stream:
        return await _relay_stream(proto, resp, target, base_headers)
    data = await read(resp, target)
    headers = [*base_headers, ("content-type", resp.headers.get("content-type", "application/json"))]
    proto.response_bytes(resp.status, headers, data)
    return total_tokens(data)


def _failure(exc: UpstreamError, target: Target) -> errors.GatewayError:
    if isinstance(exc, UpstreamTimeout):
        return errors.upstream_timeout(target.provider, target.timeout_s)
    if isinstance(exc, ConnectError):
        return errors.upstream_unreachable(target.provider)
    return errors.upstream_broken(target.provider)


async def read(resp: Response, target: Target) -> bytes:
    try:
        return await resp.read()
    except UpstreamError as exc:
        raise _failure(exc, target) from None


async def _relay_stream(
    proto: Any, resp: Response, target: Target, base_headers: list[tuple[str, str]]
) -> int:
    """Relay SSE bytes as they come; returns the usage's total_tokens if a chunk carried it."""
    transport = proto.response_stream(200, [*base_headers, *SSE_HEADERS])
    tokens = -1
    try:
        async for chunk in resp:
            if b'"total_tokens"' in chunk:
                tokens = total_tokens(chunk)
            try:
                await transport.send_bytes(chunk)
            except Exception:
                # The client went away: leaving the `async with` closes the upstream request.
                return tokens
    except UpstreamError as exc:
        failure = _failure(exc, target)
    else:
        return tokens
    # Headers are gone already: end the stream with an SSE error event the SDKs understand.
    log.warning("stream from %s/%s broke: %s", target.provider, target.key_id, failure.code)
    with contextlib.suppress(Exception):  # the client may be gone too
        await transport.send_bytes(b"data: " + failure.body() + b"\n\n")
    return tokens
