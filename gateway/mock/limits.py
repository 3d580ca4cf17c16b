"""Per-key rate limits, for every mock provider (each answers them in its own headers and errors).

Each key has a limit of `rpm` requests and one of `tpm` tokens per `window_s` (a minute, unless
tests scale it down), kept by one of two limiters:

- **continuous** (default), as OpenAI's and Anthropic's: a bucket of `limit` that refills
  continuously at limit / window. `remaining` is what the bucket holds now; the reset is the time
  until it is full again (OpenAI: "the time until the rate limit resets to its initial state"),
  long after the next request fits.
- **fixed_window**: `limit` per window, the window opening at the key's first request after the
  previous one ended; the reset is when the window ends, and only then does a request fit again.

Times are CLOCK_MONOTONIC (time.monotonic) seconds at this interface and integer nanoseconds
inside, so a bucket's arithmetic is exact. `/_mock/stats` reports, per key, every admission with
the moment the key could take its next request, and every refusal: what tests measure a gateway
by.
"""

from __future__ import annotations

from collections import deque
from typing import Literal, Protocol

Limiter = Literal["continuous", "fixed_window"]
LIMITERS: tuple[Limiter, ...] = ("continuous", "fixed_window")

# Admissions and refusals per key kept for /_mock/stats.
HISTORY = 100_000
_NS = 1_000_000_000


class Bucket(Protocol):
    """One limit of one key (its requests, or its tokens)."""

    limit: int

    def wait(self, amount: int, now: int) -> int:
        """ns until `amount` fits (0: now; -1: never, it is over the limit)."""
        ...

    def take(self, amount: int, now: int) -> None: ...

    def remaining(self, now: int) -> int: ...

    def until_full(self, now: int) -> int:
        """ns until the limit is back to its initial state."""
        ...


class ContinuousBucket:
    """A token bucket as GCRA: `tat` is when the bucket is full again; a unit refills every
    `interval` ns, and `amount` units fit while the bucket would not run below empty."""

    __slots__ = ("interval", "limit", "tat", "tolerance")

    def __init__(self, limit: int, window_ns: int) -> None:
        self.limit = limit
        self.interval = -(-window_ns // limit)  # rounded up: never refills faster than limit/window
        self.tolerance = limit * self.interval
        self.tat = 0

    def wait(self, amount: int, now: int) -> int:
        if amount > self.limit:
            return -1
        return max(0, max(self.tat, now) + amount * self.interval - now - self.tolerance)

    def take(self, amount: int, now: int) -> None:
        self.tat = max(self.tat, now) + amount * self.interval

    def remaining(self, now: int) -> int:
        return (self.tolerance - max(0, self.tat - now)) // self.interval

    def until_full(self, now: int) -> int:
        return max(0, self.tat - now)


class WindowBucket:
    """`limit` per window; the window opens at the first request after the previous one ended."""

    __slots__ = ("limit", "start", "used", "window")

    def __init__(self, limit: int, window_ns: int) -> None:
        self.limit = limit
        self.window = window_ns
        self.start = -window_ns
        self.used = 0

    def _used(self, now: int) -> int:
        return self.used if now - self.start < self.window else 0

    def wait(self, amount: int, now: int) -> int:
        if amount > self.limit:
            return -1
        return 0 if self._used(now) + amount <= self.limit else self.start + self.window - now

    def take(self, amount: int, now: int) -> None:
        if now - self.start >= self.window:
            self.start, self.used = now, 0
        self.used += amount

    def remaining(self, now: int) -> int:
        return self.limit - self._used(now)

    def until_full(self, now: int) -> int:
        return self.start + self.window - now if self._used(now) else 0


class _Key:
    __slots__ = ("admitted", "refused", "requests", "tokens")

    def __init__(self, requests: Bucket | None, tokens: Bucket | None) -> None:
        self.requests = requests
        self.tokens = tokens
        # [when, when the key could take its next request]; when each 429 was answered.
        self.admitted: deque[tuple[float, float]] = deque(maxlen=HISTORY)
        self.refused: deque[float] = deque(maxlen=HISTORY)


class Refusal:
    """Which limit refused a request, how much of it was used, and how long until the request
    fits (`wait_s` < 0: never, it is over the whole limit)."""

    __slots__ = ("limit", "tokens", "used", "wait_s")

    def __init__(self, tokens: bool, limit: int, used: int, wait_s: float) -> None:
        self.tokens = tokens
        self.limit = limit
        self.used = used
        self.wait_s = wait_s


class KeyState:
    """One key's limits as of an instant: for its requests and its tokens (None: unlimited),
    (limit, remaining, seconds until full again)."""

    __slots__ = ("requests", "tokens")

    def __init__(self, requests: tuple[int, int, float] | None, tokens: tuple[int, int, float] | None):
        self.requests = requests
        self.tokens = tokens


class RateLimits:
    def __init__(self, rpm: int, tpm: int, window_s: float, limiter: Limiter = "continuous") -> None:
        if limiter not in LIMITERS:
            raise ValueError(f"unknown limiter {limiter!r}; one of {', '.join(LIMITERS)}")
        self.rpm = rpm
        self.tpm = tpm
        self.window_s = window_s
        self.limiter = limiter
        self.on = bool(rpm or tpm)
        self.keys: dict[str, _Key] = {}

    def reset(self) -> None:
        self.keys.clear()

    def _key(self, label: str) -> _Key:
        key = self.keys.get(label)
        if key is None:
            kind = ContinuousBucket if self.limiter == "continuous" else WindowBucket
            window = int(self.window_s * _NS)
            key = self.keys[label] = _Key(
                kind(self.rpm, window) if self.rpm else None, kind(self.tpm, window) if self.tpm else None
            )
        return key

    def state(self, label: str, now_s: float) -> KeyState:
        key = self._key(label)
        now = int(now_s * _NS)

        def of(bucket: Bucket | None) -> tuple[int, int, float] | None:
            if bucket is None:
                return None
            return bucket.limit, bucket.remaining(now), bucket.until_full(now) / _NS

        return KeyState(of(key.requests), of(key.tokens))

    def admit(self, label: str, tokens: int, now_s: float) -> Refusal | None:
        """Take one request and `tokens` from the key's limits, or say which refused and why."""
        if not self.on:
            return None
        key = self._key(label)
        now = int(now_s * _NS)
        refusal = None
        if key.requests is not None and (wait := key.requests.wait(1, now)):
            refusal = Refusal(False, self.rpm, self.rpm - key.requests.remaining(now), wait / _NS)
        elif key.tokens is not None and (wait := key.tokens.wait(tokens, now)):
            refusal = Refusal(True, self.tpm, self.tpm - key.tokens.remaining(now), wait / _NS)
        if refusal is not None:
            key.refused.append(now_s)
            return refusal
        next_free = now
        if key.requests is not None:
            key.requests.take(1, now)
            next_free += key.requests.wait(1, now)
        if key.tokens is not None:
            key.tokens.take(tokens, now)
        key.admitted.append((now_s, next_free / _NS))
        return None

    def stats(self) -> dict[str, dict[str, list[float] | list[tuple[float, float]]]]:
        """Per key, on this host's CLOCK_MONOTONIC (time.monotonic): `admitted`, each request the
        limits let through as [when, when the key could take its next request (its requests
        limit, ignoring later requests)]; `refused`, when each 429 was answered."""
        items = self.keys.items()
        return {label: {"admitted": list(k.admitted), "refused": list(k.refused)} for label, k in items}
