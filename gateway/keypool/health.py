"""Apply a verdict to a key's record in the node's shared region, so every worker acts on it.

What takes a key out of use, and for how long (docs/key-pools.md):
- a 429: cooling until the provider's reset (its `retry-after` or `x-ratelimit-reset-*`), else
  backing off 1 s, 2 s, 4 s … up to 60 s;
- a transport failure (no connection, a timeout, a broken connection): resting at once, 1 s,
  then 2 s, 4 s … up to 30 s while each next try fails too;
- server errors (5xx): a circuit breaker, resting after 3 in a row, 1 s doubling up to 30 s;
- across a provider's keys, 5 transport or server failures in a row with no sensible answer in
  between rest every key of the provider at once (1 s doubling up to 30 s), so a dead deployment
  costs a handful of attempts, not several per key.
After a rest, the first request is the half-open probe. Each cooldown records its cause, so a
pool that cannot serve says why (gateway/keypool/causes.py), and each failure that needs an
operator is logged at WARNING with the provider, the key id and the error (never the secret).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from ..admission import Rejection
from ..admission.layout import (
    COOL_BROKEN,
    COOL_RATE_LIMITED,
    COOL_SERVER_ERRORS,
    COOL_TIMEOUT,
    COOL_UNREACHABLE,
    STATE_EXHAUSTED,
    STATE_INVALID,
    key_id,
)
from ..upstream.errors import ConnectError, UpstreamError, UpstreamTimeout
from .causes import pool_refusal
from .classify import Verdict
from .learn import Headroom
from .provider_limits import Cooldown

log = logging.getLogger("aigw.keys")

BACKOFF_BASE_S = 1.0
BACKOFF_MAX_S = 60.0
# A key that answers 429 again, with no success in between, was predicted free and was not: its
# wait doubles with each 429 in a row (from at least this), never past when its limits are full.
REPEAT_FLOOR_S = 0.05
# Circuit breaker: after this many server failures in a row (5xx, timeouts, resets) a key rests
# for BREAKER_BASE_S, doubling with each further failure; its next request is the half-open probe.
BREAKER_FAILURES = 3
BREAKER_BASE_S = 1.0
BREAKER_MAX_S = 30.0
# A transport failure rests the key at once, for this long, doubling with each further one.
TRANSPORT_BASE_S = 1.0
TRANSPORT_MAX_S = 30.0
# The endpoint's breaker: this many server failures in a row across the provider's keys (any
# other answer from it, a 429 included, proves it alive and ends the streak).
ENDPOINT_FAILURES = 5
COOLDOWN_MARGIN_S = 0.02
SECOND = 1_000_000_000
# Verdicts that change a key's health for every node (a server failure's breaker, like a transport
# failure's rest, stays the node's: it may be this node's path to the provider that fails).
TELLING = frozenset({Verdict.RATE_LIMITED, Verdict.QUOTA, Verdict.INVALID})


def endpoint_id(provider: str) -> int:
    """The region record holding a provider endpoint's failure streak (no key has this id)."""
    return key_id(provider, "\0endpoint")


class KeyListener(Protocol):
    """Told of each key whose health changed in the region, and of each whose headroom the
    provider reported (a cluster tells every node: gateway/cluster/worker.py)."""

    def key_changed(self, key: int, slot: int) -> None: ...

    def key_learned(self, key: int, slot: int) -> None: ...


class KeyHealth:
    """Per worker: the region, each provider's probe intervals, the slots of each provider's
    keys (`keys_of`, current as keys are added and removed), and who else must know."""

    def __init__(
        self,
        region: Any,
        probe_interval_s: dict[str, float],
        invalid_probe_interval_s: dict[str, float],
        keys_of: Callable[[str], Iterable[int]],
        pool_of: Callable[[str], Iterable[tuple[str, int]]],
        listener: KeyListener | None = None,
    ):
        self.region = region
        self._probe = probe_interval_s
        self._invalid_probe = invalid_probe_interval_s
        self._keys_of = keys_of
        self._pool_of = pool_of  # a model group's keys: (provider, slot)
        self._endpoints: dict[str, int] = {}
        self._listener = listener
        self._ids: dict[tuple[str, str], int] = {}

    def _key(self, target: Any) -> int:
        found = self._ids.get((target.provider, target.key_id))
        if found is None:
            found = self._ids[(target.provider, target.key_id)] = key_id(target.provider, target.key_id)
        return found

    def learn(self, target: Any, slot: int, learned_at: int, learned: Headroom) -> None:
        """What the provider said at `learned_at` about the key's headroom (learn.py)."""
        self.region.learn(slot, target.limiter, learned_at, *learned)
        if self._listener is not None:
            self._listener.key_learned(self._key(target), slot)

    def configure(
        self, probe_interval_s: dict[str, float], invalid_probe_interval_s: dict[str, float]
    ) -> None:
        """Each provider's probe intervals, after a config reload."""
        self._probe = probe_interval_s
        self._invalid_probe = invalid_probe_interval_s

    def pool_refusal(self, groups: Iterable[str], refused: Rejection) -> Rejection:
        """Admission found no key in `groups` (a model group and its fallbacks): the refusal that
        names why (gateway/keypool/causes.py)."""
        groups = list(groups)
        keys = {key for group in groups for key in self._pool_of(group)}
        refusal = pool_refusal(groups[0], keys, self.region, time.monotonic_ns(), refused)
        refusal.limit_scope = "pool"  # the call log's "refused by": no upstream key could serve
        refusal.consumer = refused.consumer
        return refusal

    def _endpoint(self, provider: str) -> int:
        slot = self._endpoints.get(provider)
        if slot is None:
            slot = self._endpoints[provider] = int(self.region.key_slot(endpoint_id(provider)))
        return slot

    def note(
        self, target: Any, slot: int, verdict: Verdict, cooldown: Cooldown | None, status: int = 0
    ) -> None:
        """An answer from the provider (`status`, classified as `verdict`); `cooldown` is what a
        429 said about waiting (provider_limits.py)."""
        if target.stale:
            return  # answered to a secret since rotated or removed: nothing about the key now
        region = self.region
        if verdict is Verdict.OK:  # the common case: the endpoint and the key are well
            region.succeed(self._endpoint(target.provider))
            region.succeed(slot)
            return
        now = time.monotonic_ns()
        if verdict is not Verdict.SERVER:
            region.succeed(self._endpoint(target.provider))  # it answered: the endpoint is alive
        if verdict is Verdict.RATE_LIMITED:
            wait = rate_limit_wait(region.fail(slot), cooldown)
            # A hair past the provider's moment: timers may fire early, and a request that arrives
            # a moment too soon costs a whole new cooldown.
            region.cool(slot, now + int((wait + COOLDOWN_MARGIN_S) * SECOND), COOL_RATE_LIMITED)
            # Routine for a pool (the request moves to another key): not a warning.
            log.info(
                "key %s/%s rate-limited (%d); cooling %.3gs",
                target.provider,
                target.key_id,
                status,
                wait,
            )
        elif verdict is Verdict.SERVER:
            streak = region.fail(slot)
            if not self._endpoint_failed(target, now, COOL_SERVER_ERRORS) and streak >= BREAKER_FAILURES:
                rest = min(BREAKER_BASE_S * 2 ** (streak - BREAKER_FAILURES), BREAKER_MAX_S)
                region.cool(slot, now + int(rest * SECOND), COOL_SERVER_ERRORS)
                log.warning(
                    "key %s/%s: server error %d, %d in a row; resting %.3gs",
                    target.provider,
                    target.key_id,
                    status,
                    streak,
                    rest,
                )
        elif verdict is Verdict.QUOTA:
            next_probe = now + int(self._probe[target.provider] * SECOND)
            if region.set_state(slot, STATE_EXHAUSTED, now, next_probe) != STATE_EXHAUSTED:
                log.warning(
                    "key %s/%s: out of quota (%d); probing it every %gs",
                    target.provider,
                    target.key_id,
                    status,
                    self._probe[target.provider],
                )
        elif verdict is Verdict.INVALID:
            next_probe = now + int(self._invalid_probe[target.provider] * SECOND)
            if region.set_state(slot, STATE_INVALID, now, next_probe) != STATE_INVALID:
                log.warning(
                    "key %s/%s: refused by the provider (%d: invalid or revoked); probing it every %gs",
                    target.provider,
                    target.key_id,
                    status,
                    self._invalid_probe[target.provider],
                )
        if self._listener is not None and verdict in TELLING:
            self._listener.key_changed(self._key(target), slot)

    def transport_failed(self, target: Any, slot: int, error: UpstreamError) -> None:
        """No answer at all: no connection, a timeout, or a connection that broke. The key rests
        at once on its own schedule (never reported as rate-limited)."""
        if target.stale:
            return
        now = time.monotonic_ns()
        cause = (
            COOL_UNREACHABLE
            if isinstance(error, ConnectError)
            else COOL_TIMEOUT
            if isinstance(error, UpstreamTimeout)
            else COOL_BROKEN
        )
        streak = self.region.fail(slot)
        rest = min(TRANSPORT_BASE_S * 2 ** (streak - 1), TRANSPORT_MAX_S)
        self.region.cool(slot, now + int(rest * SECOND), cause)
        log.warning(
            "key %s/%s: %s: %s; resting %.3gs (%d failure(s) in a row)",
            target.provider,
            target.key_id,
            type(error).__name__,
            error,
            rest,
            streak,
        )
        self._endpoint_failed(target, now, cause)

    def _endpoint_failed(self, target: Any, now: int, cause: int) -> bool:
        """Count a failure against the provider's endpoint; past its breaker's threshold, rest
        every key of the provider. Returns whether it did."""
        streak = self.region.fail(self._endpoint(target.provider))
        if streak < ENDPOINT_FAILURES:
            return False
        rest = min(BREAKER_BASE_S * 2 ** (streak - ENDPOINT_FAILURES), BREAKER_MAX_S)
        for key_slot in self._keys_of(target.provider):
            self.region.cool(key_slot, now + int(rest * SECOND), cause)
        log.warning(
            "provider %s failed %d times in a row across its keys; resting all of them %.3gs",
            target.provider,
            streak,
            rest,
        )
        return True


def rate_limit_wait(streak: int, cooldown: Cooldown | None) -> float:
    """How long a key that answered 429 (its `streak`-th in a row) waits: what the provider said
    (provider_limits.py); doubled for each 429 before it in the streak, since then the provider's
    word let it be tried too soon, never beyond the time its limits are full again (60 s when
    unknown); exponential backoff from 1 s when the provider said nothing."""
    if cooldown is None or cooldown.wait_s is None:
        return min(BACKOFF_BASE_S * 2 ** (streak - 1), BACKOFF_MAX_S)
    if streak <= 1:
        return cooldown.wait_s
    cap = cooldown.full_s or BACKOFF_MAX_S
    return max(cooldown.wait_s, min(max(cooldown.wait_s, REPEAT_FLOOR_S) * 2 ** (streak - 1), cap))
