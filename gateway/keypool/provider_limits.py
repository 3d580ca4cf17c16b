"""What each provider says about a key's rate limits, and how aigw reads it.

Every answer's limit / remaining / reset figures are read by learn.py and kept in the key's
record; the limiter model (gateway/admission/limiter.py) turns them into "how much is left now"
and "when is there room for the next request". This module holds the rest, per provider type:
which limiter refills its limits (a provider's `limiter`, default below), and what a 429 says
about when the key can take a request again.

- openai, openai_compatible, mock: continuous. Every answer: x-ratelimit-{limit,remaining,
  reset}-{requests,tokens}, the reset the time until the limit is back to its initial state (a Go
  duration). A 429's wait: retry-after-ms; else the figures, when they show a limit used up; else
  retry-after.
- azure: continuous. Every answer: x-ratelimit-remaining-{requests,tokens}, with no reset, so
  nothing to model. A 429's wait: retry-after-ms; else retry-after.
- anthropic: continuous. Every answer: anthropic-ratelimit-{requests,tokens}-{limit,remaining,
  reset}, the reset the RFC 3339 moment the bucket is full. A 429's wait: the later of the
  figures and retry-after ("earlier retries will fail").
- gemini: fixed_window. No figures. A 429's wait: RetryInfo.retryDelay in its body; else
  retry-after.

Sources are named in docs/key-pools.md; each provider type names its rules in
gateway/providers/registry.py (a type that names none gets OpenAI's).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import msgspec

from ..admission.layout import LIMITERS
from ..admission.limiter import room_at
from ..providers.registry import REGISTRY, load
from .learn import Headroom

SECOND = 1_000_000_000


@dataclass(frozen=True)
class Cooldown:
    """What a 429 says: seconds until the key can take a request (None: nothing), and until its
    limits are full again (None: unknown), which bounds the backoff of a key that keeps refusing."""

    wait_s: float | None
    full_s: float | None = None


@dataclass(frozen=True)
class ProviderLimits:
    limiter: str  # the default; a provider's `limiter` overrides it
    # Anthropic documents retry-after as binding ("earlier retries will fail"); OpenAI's is the
    # figures' reset rounded up to whole seconds, so the figures, to the millisecond, come first.
    retry_after_binds: bool = False
    # Gemini says when to retry in the 429's body (google.rpc.RetryInfo), not in a header.
    retry_info: bool = False

    def after_429(
        self, headers: Any, body: bytes, learned: Headroom | None, limiter: int, now: int
    ) -> Cooldown:
        """When the key that answered this 429 can take a request again: `learned` is what its
        figures said (learn.py), `limiter` how its limits refill (layout.LIMITER_*)."""
        precise = _seconds(headers.get("retry-after-ms"), 0.001)
        if precise is not None:
            return Cooldown(precise)
        figures, full = _figures_wait(learned, limiter, now)
        stated = _seconds(headers.get("retry-after"), 1.0)
        if self.retry_info:
            delay = retry_delay(body)
            stated = delay if delay is not None else stated
        if stated is not None and (self.retry_after_binds or not figures):
            figures = max(figures or 0.0, stated)
        return Cooldown(figures, full)


# Each provider type names its rules in gateway/providers/registry.py.
OPENAI = ProviderLimits("continuous")
ANTHROPIC = ProviderLimits("continuous", retry_after_binds=True)
GEMINI = ProviderLimits("fixed_window", retry_info=True)


@functools.cache
def rules_for(provider_type: str) -> ProviderLimits:
    registered = REGISTRY.get(provider_type)
    rules: ProviderLimits = load(registered.rate_limits) if registered else OPENAI
    return rules


def limiter_of(provider_type: str, configured: str | None) -> int:
    """The provider's limiter (layout.LIMITER_*): as configured, else its type's default."""
    return LIMITERS[configured or rules_for(provider_type).limiter]


def _figures_wait(learned: Headroom | None, limiter: int, now: int) -> tuple[float | None, float | None]:
    """(seconds until the figures give room for one request — 0 when none shows a limit used up,
    None without figures —, seconds until the latest of their resets)."""
    if learned is None:
        return None, None
    wait: float | None = None
    full: float | None = None
    for remaining, reset, limit in (learned[0:3], learned[3:6]):
        if limit <= 0 or reset <= now:
            continue
        room = room_at(limiter, remaining, reset, limit, now, now, 1)
        wait = max(wait or 0.0, (room - now) / SECOND)
        full = max(full or 0.0, (reset - now) / SECOND)
    return wait, full


def _seconds(value: str | None, unit: float) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value) * unit
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


class _Detail(msgspec.Struct):
    type: str = msgspec.field(default="", name="@type")
    retryDelay: str | None = None  # Google's field name


class _Error(msgspec.Struct):
    details: list[_Detail] = msgspec.field(default_factory=list)


class _Envelope(msgspec.Struct):
    error: _Error | None = None


_ENVELOPE = msgspec.json.Decoder(_Envelope)


def retry_delay(body: bytes) -> float | None:
    """google.rpc.RetryInfo's retryDelay ("7s", "0.250s": protobuf's Duration in JSON), in seconds."""
    try:
        error = _ENVELOPE.decode(body).error
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    for detail in error.details if error else ():
        if detail.type.endswith("google.rpc.RetryInfo") and detail.retryDelay:
            return _seconds(detail.retryDelay.removesuffix("s"), 1.0)
    return None
