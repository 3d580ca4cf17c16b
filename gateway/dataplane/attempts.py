"""Forward one admitted request, moving to another key when one fails — invisible to the caller
when any key of the pool can still serve.

A failure the provider blames on the key (rate limit, quota, revoked) or on itself (5xx,
timeout, reset) marks the key node-wide (gateway/keypool/health.py) and the request moves at once
to the key admission would pick next, never one it already tried, within `max_attempts`. Only
answers before the first byte reaches the caller are retried: a 200 is relayed as it comes.
When nothing is left, the caller gets an honest 429 with the time the pool recovers.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from ..admission.rejections import POOL_RATE_LIMITED, Rejection, pool_exhausted
from ..calllog.usage import openai_usage
from ..errors import GatewayError
from ..keypool.classify import RETRYABLE, Verdict, classify
from ..keypool.health import KeyHealth
from ..keypool.learn import head_headroom
from ..models.params import UNCHANGED
from ..providers.canonical import is_json_object
from ..upstream import Pool, ProtocolError, UpstreamError
from . import errors
from .caller import OPENAI
from .context import RequestContext
from .proxy import relay_stream, transport_failure


class WaitingRoom:
    """Queue mode's bound: how many requests one worker lets wait for capacity at once."""

    def __init__(self, size: int):
        self.size = size
        self.waiting = 0

    def queued(self) -> int:
        return self.waiting

    async def wait(self, rejection: Rejection, deadline: float) -> bool:
        """Sleep until the pool's announced recovery, if it comes before `deadline` and there is
        room; False when the caller should get the 429 now. Sleepers wake in deadline order, and
        among equal deadlines in arrival order (the event loop's timers): first come, first served."""
        wait = rejection.retry_after_s
        if wait is None or time.monotonic() + wait > deadline or self.waiting >= self.size:
            return False
        self.waiting += 1
        try:
            await asyncio.sleep(wait)
        finally:
            self.waiting -= 1
        return True


@dataclass(frozen=True)
class Policy:
    """A model group's retry rules (config: model_groups[]), and its waiting room on this worker."""

    group: str
    max_attempts: int
    fallbacks: tuple[str, ...]
    max_wait_s: float
    room: WaitingRoom
    clamp_params: bool = False  # out-of-range parameters are clamped, not refused


class _Failure:
    """The last upstream failure (already in OpenAI's format), to answer if nothing is left."""

    __slots__ = ("body", "status", "verdict")

    def __init__(self, verdict: Verdict, status: int, body: bytes):
        self.verdict = verdict
        self.status = status
        self.body = body


async def forward(ctx: RequestContext, policy: Policy, pool: Pool, health: KeyHealth) -> int:
    """Send the admitted request upstream and answer the caller, moving to another key (and then
    the group's fallbacks) when one fails; returns the usage's total_tokens (-1 when unknown).
    Every attempt and the final outcome are noted on the trace for the call log."""
    table, decision, exchange, trace = ctx.table, ctx.decision, ctx.exchange, ctx.trace
    tried: set[int] = set()
    failure: _Failure | GatewayError | None = None
    target = decision.target
    deadline = time.monotonic() + policy.max_wait_s
    base = ctx.headers
    extra = ctx.upstream_headers
    span = trace.span
    for _ in range(policy.max_attempts):
        target, slot = decision.target, decision.slot
        started = time.perf_counter()
        if span is not None:
            extra = span.attempt_started(target.provider, target.key_id, target.upstream_model)
        try:
            path, header_block, body = exchange.call(target)
            if extra:
                header_block += extra
            review = exchange.review
            if review is not UNCHANGED:  # this target's rules dropped or clamped parameters: say so
                ctx.headers = [*base, *review.headers()]
                trace.params(review.dropped, review.clamped)
            elif ctx.headers is not base:  # an earlier attempt's target did, this one did not
                ctx.headers = base
                trace.params((), ())
            resp = await pool.request(
                target.origin, b"POST", path, header_block, body, read_timeout=target.timeout_s
            )
        except UpstreamError as broken:  # no connection, a timeout, a reset: no answer at all
            failure = transport_failure(broken, target)
            trace.attempt(target.provider, target.key_id, target.upstream_model, 0, failure.code, started)
            health.transport_failed(target, slot, broken)
        except GatewayError as exc:
            trace.attempt(target.provider, target.key_id, target.upstream_model, 0, exc.code, started)
            if exc.status == 400:  # the request cannot be expressed for this target: nothing was sent
                ctx.headers = base
                ctx.fail(exc)
                return 0  # no token used: the estimate is given back
            health.note(target, slot, Verdict.SERVER, None)
            failure = exc
        else:
            try:
                learned = None
                if resp.watched:  # only answers with rate-limit headers teach headroom
                    learned_at = time.monotonic_ns()
                    learned = head_headroom(resp.raw_head, learned_at)
                    if learned is not None:
                        health.learn(target, slot, learned_at, learned)
                if resp.status == 200 and exchange.stream:
                    health.note(target, slot, Verdict.OK, None)
                    try:
                        return await relay_stream(ctx, resp, target, exchange.translator(target))
                    finally:  # the attempt lasted the whole stream
                        trace.attempt(
                            target.provider, target.key_id, target.upstream_model, 200, "ok", started
                        )
                raw = resp.complete_body()  # a small answer came with its headers
                try:
                    if raw is None:
                        raw = await resp.read(target.max_response_bytes, target.timeout_s)
                    if not is_json_object(raw):  # every provider's answers are, errors included
                        raise ProtocolError("an answer that is not a JSON object")
                except UpstreamError as broken:  # the answer broke off, or is not one
                    failure = transport_failure(broken, target)
                    trace.attempt(
                        target.provider,
                        target.key_id,
                        target.upstream_model,
                        resp.status,
                        failure.code,
                        started,
                    )
                    health.transport_failed(target, slot, broken)
                else:
                    if target.adapter is None:  # an OpenAI-format provider: its answer as is
                        status, data = resp.status, raw
                    else:
                        status, data = exchange.answer(target, resp.status, raw)
                    verdict = classify(status, data)
                    ok = verdict is Verdict.OK  # the common case, tested first
                    trace.attempt(
                        target.provider,
                        target.key_id,
                        target.upstream_model,
                        status,
                        "ok" if ok else verdict.value,
                        started,
                    )
                    if ok or verdict not in RETRYABLE:
                        # Success, or the caller's own mistake: theirs to see, in their format.
                        health.note(target, slot, verdict, None, status)
                        tokens = -1
                        if status == 200:
                            usage = openai_usage(data)
                            if usage is not None:
                                trace.usage(*usage)
                                tokens = usage[0] + usage[1]
                        else:
                            trace.failed("provider_error", str(status))
                        if ctx.caller is not OPENAI:
                            status, data = ctx.caller.answer(status, data)
                        ctx.answer(status, data)
                        return tokens
                    cooldown = None
                    if status == 429:  # what the provider says about when to come back
                        cooldown = target.rate_limits.after_429(
                            resp.headers, raw, learned, target.limiter, time.monotonic_ns()
                        )
                    health.note(target, slot, verdict, cooldown, status)
                    failure = _Failure(verdict, status, data)
            finally:
                resp.release()  # as `async with resp` would, without two coroutines
        tried.add(slot)
        rejection = table.repick(decision, tried)
        refusals = [rejection]
        for fallback in policy.fallbacks:
            if rejection is None:
                break
            rejection = table.repick(decision, tried, -1, fallback)  # possibly another provider
            refusals.append(rejection)
            if rejection is None and span is not None:
                span.event("fallback", _reason(failure), fallback)
        if rejection is None:
            if span is not None and len(refusals) == 1:
                span.event("retry", _reason(failure), f"{decision.target.provider}/{decision.target.key_id}")
            continue
        if not (isinstance(failure, _Failure) and failure.verdict in (Verdict.RATE_LIMITED, Verdict.QUOTA)):
            break  # this request's own failure (refused, unreachable, 5xx) is its answer
        # Nothing left anywhere: say why, and when the first of these groups has a key back.
        wait_s = min(r.retry_after_s for r in refusals if r is not None and r.retry_after_s is not None)
        groups = (policy.group, *policy.fallbacks)
        refusal: Rejection | None = health.pool_refusal(
            groups, pool_exhausted(policy.group, int(wait_s * 1e9))
        )
        # Only a rate limit ends at a known time: wait for it (queue mode), or say when.
        while (
            refusal is not None
            and refusal.code == POOL_RATE_LIMITED
            and await policy.room.wait(refusal, deadline)
        ):
            # Another worker may have found the key busy again meanwhile: wait again, in line.
            tried.clear()
            again = table.repick(decision, None, -1, policy.group)
            refusal = None if again is None else health.pool_refusal(groups, again)
        if refusal is None:
            continue
        ctx.fail(refusal)
        return -1
    _answer_failure(ctx, failure, target.provider)
    return -1


def _reason(failure: _Failure | GatewayError | None) -> str:
    """Why an attempt failed, as a retry or fallback event names it."""
    if isinstance(failure, _Failure):
        return failure.verdict.value
    return failure.code if failure is not None else ""


def _answer_failure(ctx: RequestContext, failure: _Failure | GatewayError | None, provider: str) -> None:
    if isinstance(failure, _Failure) and failure.verdict is Verdict.INVALID:
        # aigw's provider keys were refused: not the caller's 401.
        failure = errors.upstream_auth_failed(provider)
    if isinstance(failure, GatewayError):
        ctx.fail(failure)
        return
    assert isinstance(failure, _Failure)
    ctx.trace.failed("provider_error", failure.verdict.value)
    # The attempts ran out while the pool still had a usable key (else the caller got the pool's
    # 429): capacity is there now, so the honest wait is the shortest one.
    retry = [("retry-after", "1")] if failure.verdict in (Verdict.RATE_LIMITED, Verdict.QUOTA) else None
    status, body = ctx.caller.answer(failure.status, failure.body)
    ctx.answer(status, body, retry)
