"""Apply a verdict to a key's record in the node's shared region, so every worker acts on it.

Two circuit breakers act on server failures (5xx, timeouts, resets): one per key, and one per
provider endpoint — a streak of failures across its keys with no sensible answer in between rests
every key of the provider at once, so a dead deployment costs a handful of attempts, not three
per key. In both, the first request after the rest is the half-open probe."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from ..admission.layout import STATE_EXHAUSTED, STATE_INVALID, key_id
from .classify import Verdict

log = logging.getLogger("aigw.keys")

BACKOFF_BASE_S = 1.0
BACKOFF_MAX_S = 60.0
# Circuit breaker: after this many server failures in a row (5xx, timeouts, resets) a key rests
# for BREAKER_BASE_S, doubling with each further failure; its next request is the half-open probe.
BREAKER_FAILURES = 3
BREAKER_BASE_S = 1.0
BREAKER_MAX_S = 30.0
# The endpoint's breaker: this many server failures in a row across the provider's keys (any
# other answer from it, a 429 included, proves it alive and ends the streak).
ENDPOINT_FAILURES = 5
COOLDOWN_MARGIN_S = 0.02
SECOND = 1_000_000_000


def endpoint_id(provider: str) -> int:
    """The region record holding a provider endpoint's failure streak (no key has this id)."""
    return key_id(provider, "\0endpoint")


class KeyHealth:
    """Per worker: the region, each provider's probe intervals, and the slots of each provider's
    keys (`keys_of`, current as keys are added and removed)."""

    def __init__(
        self,
        region: Any,
        probe_interval_s: dict[str, float],
        invalid_probe_interval_s: dict[str, float],
        keys_of: Callable[[str], Iterable[int]],
    ):
        self.region = region
        self._probe = probe_interval_s
        self._invalid_probe = invalid_probe_interval_s
        self._keys_of = keys_of
        self._endpoints: dict[str, int] = {}

    def _endpoint(self, provider: str) -> int:
        slot = self._endpoints.get(provider)
        if slot is None:
            slot = self._endpoints[provider] = int(self.region.key_slot(endpoint_id(provider)))
        return slot

    def note(self, target: Any, slot: int, verdict: Verdict, cooldown_s: float | None) -> None:
        if target.stale:
            return  # answered to a secret since rotated or removed: nothing about the key now
        now = time.monotonic_ns()
        region = self.region
        if verdict is not Verdict.SERVER:
            region.succeed(self._endpoint(target.provider))  # it answered: the endpoint is alive
        if verdict is Verdict.OK:
            region.succeed(slot)
        elif verdict is Verdict.RATE_LIMITED:
            if cooldown_s is None:
                # The provider gave no reset time: back off exponentially from the base.
                streak = region.fail(slot)
                cooldown_s = min(BACKOFF_BASE_S * 2 ** (streak - 1), BACKOFF_MAX_S)
            # A hair past the provider's reset: timers may fire early, and a request that arrives
            # a moment too soon costs a whole new cooldown.
            region.cool(slot, now + int((cooldown_s + COOLDOWN_MARGIN_S) * SECOND))
            log.info("key %s/%s cooling for %.3gs", target.provider, target.key_id, cooldown_s)
        elif verdict is Verdict.SERVER:
            streak = region.fail(slot)
            endpoint_streak = region.fail(self._endpoint(target.provider))
            if endpoint_streak >= ENDPOINT_FAILURES:
                rest = min(BREAKER_BASE_S * 2 ** (endpoint_streak - ENDPOINT_FAILURES), BREAKER_MAX_S)
                for key_slot in self._keys_of(target.provider):
                    region.cool(key_slot, now + int(rest * SECOND))
                log.warning(
                    "provider %s failed %d times in a row across its keys; resting all of them %.3gs",
                    target.provider,
                    endpoint_streak,
                    rest,
                )
            elif streak >= BREAKER_FAILURES:
                rest = min(BREAKER_BASE_S * 2 ** (streak - BREAKER_FAILURES), BREAKER_MAX_S)
                region.cool(slot, now + int(rest * SECOND))
                log.warning(
                    "key %s/%s failed %d times in a row; resting %.3gs",
                    target.provider,
                    target.key_id,
                    streak,
                    rest,
                )
        elif verdict is Verdict.QUOTA:
            next_probe = now + int(self._probe[target.provider] * SECOND)
            if region.set_state(slot, STATE_EXHAUSTED, now, next_probe) != STATE_EXHAUSTED:
                log.warning("key %s/%s exhausted its quota; probing it", target.provider, target.key_id)
        elif verdict is Verdict.INVALID:
            next_probe = now + int(self._invalid_probe[target.provider] * SECOND)
            if region.set_state(slot, STATE_INVALID, now, next_probe) != STATE_INVALID:
                log.warning(
                    "key %s/%s was refused by the provider (invalid or revoked)",
                    target.provider,
                    target.key_id,
                )
