"""The limiter model: how much of a provider's limit a key has at an instant, and when it next has
room for a request, from what the provider last said and how its limiter refills.

What a provider says (gateway/keypool/learn.py) is, for requests and for tokens, its `limit`, what
was `remaining` when it answered (at `learned`) and its `reset`: the moment the limit is back to
its initial state. What that means for the moments in between depends on the limiter:

- **continuous** (OpenAI, Anthropic: a token bucket): the bucket refills steadily from `remaining`
  at `learned` to `limit` at `reset`, so a request fits long before the reset. Between the two
  points the model is the straight line through them: `remaining` is a whole number, at or below
  what the bucket held, so the line starts at or below the truth and meets it at the reset. The
  model is never early, and late by less than one unit's refill time.
- **fixed_window**: `remaining` holds until the reset, and all of the limit comes back then.

Past its reset a key has its whole limit. The native core (`_native/admit.pxi`) computes the
same, in the same order of floating-point operations, so the two implementations agree exactly.
"""

from __future__ import annotations

import math

from .layout import LIMITER_CONTINUOUS


def available(limiter: int, remaining: int, reset: int, limit: int, learned: int, now: int) -> float:
    """What is left of a limit at `now` (ns, like `reset` and `learned`); `limit` itself past the
    reset."""
    if reset <= now:
        return float(limit)
    if limiter != LIMITER_CONTINUOUS or reset <= learned or remaining >= limit or now <= learned:
        return float(remaining)
    return remaining + float(limit - remaining) * float(now - learned) / float(reset - learned)


def room_at(limiter: int, remaining: int, reset: int, limit: int, learned: int, now: int, need: int) -> int:
    """The first instant from `now` on when `need` units are left (the reset, if `need` is more than
    the whole limit: the model can say no better)."""
    if reset <= now or available(limiter, remaining, reset, limit, learned, now) >= need:
        return now
    if need > limit or limiter != LIMITER_CONTINUOUS or reset <= learned or remaining >= limit:
        return reset
    at = learned + math.ceil(float(need - remaining) * float(reset - learned) / float(limit - remaining))
    return min(max(at, now), reset)


def left_in(record: dict[str, int], kind: str, now: int) -> float | None:
    """What is left now of a key's `kind` ("requests" or "tokens") limit, from its record
    (`region.record`); None when its provider has said nothing that still holds."""
    limit, reset = record[f"limit_{kind}"], record[f"reset_{kind}"]
    if limit <= 0 or reset <= now:
        return None
    remaining, learned = record[f"remaining_{kind}"], record[f"learned_{kind}"]
    return available(record["limiter"], remaining, reset, limit, learned, now)
