"""Apply a verdict to a key's record in the node's shared region, so every worker acts on it."""

from __future__ import annotations

import logging
import time
from typing import Any

from ..admission.layout import STATE_EXHAUSTED, STATE_INVALID
from .classify import Verdict

log = logging.getLogger("aigw.keys")

BACKOFF_BASE_S = 1.0
BACKOFF_MAX_S = 60.0
# Circuit breaker: after this many server failures in a row (5xx, timeouts, resets) a key rests
# for BREAKER_BASE_S, doubling with each further failure; its next request is the half-open probe.
BREAKER_FAILURES = 3
BREAKER_BASE_S = 1.0
BREAKER_MAX_S = 30.0
COOLDOWN_MARGIN_S = 0.02
SECOND = 1_000_000_000


class KeyHealth:
    """Per worker: the region plus each provider's probe intervals."""

    def __init__(
        self, region: Any, probe_interval_s: dict[str, float], invalid_probe_interval_s: dict[str, float]
    ):
        self.region = region
        self._probe = probe_interval_s
        self._invalid_probe = invalid_probe_interval_s

    def note(self, target: Any, slot: int, verdict: Verdict, cooldown_s: float | None) -> None:
        now = time.monotonic_ns()
        region = self.region
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
            if streak >= BREAKER_FAILURES:
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
