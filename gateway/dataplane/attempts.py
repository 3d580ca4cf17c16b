"""Serve one admitted request, moving to another key when one fails — invisible to the caller
when any key of the pool can still serve.

A failure the provider blames on the key (rate limit, quota, revoked) or on itself (5xx,
timeout, reset) marks the key node-wide (gateway/keypool/health.py) and the request moves at once
to the key admission would pick next, never one it already tried, within `max_attempts`. Only
answers before the first byte reaches the caller are retried: a 200 is relayed as it comes.
When nothing is left, the caller gets an honest 429 with the time the pool recovers.
"""

from __future__ import annotations

import time
from typing import Any

from ..keypool.classify import RETRYABLE, Verdict, classify
from ..keypool.health import KeyHealth
from ..keypool.learn import openai_headroom
from . import errors
from .errors import GatewayError, error_json
from .limit_headers import rejection_headers
from .proxy import Upstream, cooldown_s, read, relay, send

JSON = ("content-type", "application/json")


class _Failure:
    """The last upstream failure, to answer with when no retry is left."""

    __slots__ = ("body", "cooldown", "status", "verdict")

    def __init__(self, verdict: Verdict, status: int, body: bytes, cooldown: float | None):
        self.verdict = verdict
        self.status = status
        self.body = body
        self.cooldown = cooldown


async def serve(
    upstream: Upstream,
    health: KeyHealth,
    table: Any,
    proto: Any,
    decision: Any,
    endpoint: bytes,
    body: bytes,
    model: str,
    stream: bool,
    max_attempts: int,
    base: list[tuple[str, str]],
) -> int:
    """Answer the caller; returns the usage's total_tokens (-1 when unknown)."""
    tried: set[int] = set()
    failure: _Failure | GatewayError | None = None
    target = decision.target
    for _ in range(max_attempts):
        target, slot = decision.target, decision.slot
        try:
            resp = await send(upstream, target, endpoint, body, model)
        except GatewayError as exc:
            failure = exc
        else:
            async with resp:
                learned = openai_headroom(resp.headers, time.monotonic_ns())
                if learned is not None:
                    health.region.learn(slot, *learned)
                if resp.status < 400:
                    health.note(target, slot, Verdict.OK, None)
                    return await relay(proto, resp, target, stream, base)
                try:
                    data = await read(resp, target)
                except GatewayError as exc:
                    failure = exc
                else:
                    verdict = classify(resp.status, data)
                    if verdict not in RETRYABLE:
                        # The caller's own mistake: the provider's answer is theirs to see.
                        proto.response_bytes(resp.status, [*base, JSON], data)
                        return -1
                    wait = cooldown_s(resp.headers) if resp.status == 429 else None
                    health.note(target, slot, verdict, wait)
                    failure = _Failure(verdict, resp.status, data, wait)
        tried.add(slot)
        rejection = table.repick(decision, tried)
        if rejection is not None:
            if isinstance(failure, _Failure) and failure.verdict in (Verdict.RATE_LIMITED, Verdict.QUOTA):
                # The whole pool is out of capacity: say when it comes back.
                error = error_json(rejection.message, rejection.type, rejection.code)
                proto.response_bytes(429, [*base, JSON, *rejection_headers(rejection)], error)
                return -1
            break
    _answer_failure(proto, failure, target.provider, base)
    return -1


def _answer_failure(proto: Any, failure: Any, provider: str, base: list[tuple[str, str]]) -> None:
    if isinstance(failure, GatewayError):
        proto.response_bytes(failure.status, [*base, JSON], failure.body())
        return
    assert isinstance(failure, _Failure)
    if failure.verdict is Verdict.INVALID:
        # aigw's provider keys were refused: not the caller's 401.
        exc = errors.upstream_auth_failed(provider)
        proto.response_bytes(exc.status, [*base, JSON], exc.body())
        return
    headers = [*base, JSON]
    if failure.cooldown is not None:
        headers.append(("retry-after", str(max(1, round(failure.cooldown)))))
    proto.response_bytes(failure.status, headers, failure.body)
