"""What a provider's response says about the key's headroom, in the shape `region.learn` takes.

OpenAI (and compatible servers) send x-ratelimit-{limit,remaining,reset}-{requests,tokens}, the
reset as a Go duration ("6m0s", "250ms"); Anthropic sends anthropic-ratelimit-* with RFC 3339
reset times. Anything missing is -1: nothing learnt.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .. import native
from ..durations import parse_go_duration
from ..upstream.head import pick_headers


def _int(headers: Any, name: str) -> int:
    value = headers.get(name)
    if value is None:
        return -1
    try:
        return int(value)
    except ValueError:
        return -1


def _parsed(cache: dict[str, Any], value: str, parse: Callable[[str], Any]) -> Any:
    """parse(value), remembered: every answer carries two resets, and their values repeat from
    answer to answer ("6ms", "1m30s", one RFC 3339 second). Bounded: the values come from the
    network."""
    found = cache.get(value, _UNPARSED)
    if found is _UNPARSED:
        found = parse(value)
        if len(cache) >= 4096:
            cache.clear()
        cache[value] = found
    return found


_UNPARSED: Any = object()
_durations: dict[str, float | None] = {}  # Go duration -> seconds
_instants: dict[str, float | None] = {}  # RFC 3339 time -> Unix seconds


def _reset_at(headers: Any, name: str, now_ns: int) -> int:
    value = headers.get(name)
    seconds = _parsed(_durations, value, parse_go_duration) if value else None
    return -1 if seconds is None else now_ns + int(seconds * 1e9)


def _unix_seconds(value: str) -> float | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _rfc3339_at(headers: Any, name: str, now_ns: int) -> int:
    # Anthropic gives resets as wall-clock times; the key record runs on the monotonic clock.
    value = headers.get(name)
    at = _parsed(_instants, value, _unix_seconds) if value else None
    return -1 if at is None else now_ns + max(0, int((at - time.time()) * 1e9))


Headroom = tuple[int, int, int, int, int, int]

# (remaining, reset, limit) header names for requests, then tokens. Built once: this runs on every
# upstream answer.
_OPENAI = (
    ("x-ratelimit-remaining-requests", "x-ratelimit-reset-requests", "x-ratelimit-limit-requests"),
    ("x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens", "x-ratelimit-limit-tokens"),
)
_ANTHROPIC = (
    (
        "anthropic-ratelimit-requests-remaining",
        "anthropic-ratelimit-requests-reset",
        "anthropic-ratelimit-requests-limit",
    ),
    (
        "anthropic-ratelimit-tokens-remaining",
        "anthropic-ratelimit-tokens-reset",
        "anthropic-ratelimit-tokens-limit",
    ),
)
# Lower-case names whose presence means a response may teach something (Pool(watch_headers=…)).
REMAINING_HEADERS = frozenset(names[0].encode() for family in (_OPENAI, _ANTHROPIC) for names in family)
# Every name `headroom` reads: a response's headers are picked to these before it looks.
LEARNED_HEADERS = tuple(name for family in (_OPENAI, _ANTHROPIC) for names in family for name in names)


def _read(headers: Any, now_ns: int, family: Any, reset_at: Any) -> Headroom | None:
    """(remaining, reset_at, limit) for requests then tokens, from one family's header names."""
    get = headers.get
    (r_rem, r_reset, r_limit), (t_rem, t_reset, t_limit) = family
    if get(r_rem) is None and get(t_rem) is None:
        return None  # the common case: nothing to learn from this family
    remaining = _int(headers, r_rem)
    tokens_left = _int(headers, t_rem)
    if remaining < 0 and tokens_left < 0:
        return None
    return (
        remaining,
        reset_at(headers, r_reset, now_ns) if remaining >= 0 else -1,
        _int(headers, r_limit),
        tokens_left,
        reset_at(headers, t_reset, now_ns) if tokens_left >= 0 else -1,
        _int(headers, t_limit),
    )


def reference_headroom(headers: Any, now_ns: int) -> Headroom | None:
    """What the answer says about the key's headroom, in OpenAI's or Anthropic's headers."""
    return _read(headers, now_ns, _OPENAI, _reset_at) or _read(headers, now_ns, _ANTHROPIC, _rfc3339_at)


def head_headroom(head: bytes, now_ns: int) -> Headroom | None:
    """reference_headroom of a response head (Response.raw_head), with OpenAI's headers (on every
    answer of most providers) read in C straight from the head when their values have the plain
    forms, so the common answer makes no header strings at all."""
    learned = _native_head_headroom(head, now_ns)
    if learned is False:
        learned = reference_headroom(pick_headers(head, LEARNED_HEADERS), now_ns)
    return learned


def _undecided(head: bytes, now_ns: int) -> bool:
    return False  # the reference reads every answer


# OpenAI's plain values read in C (_native/headroom.pxi); the reference reads what it leaves.
_native_head_headroom: Any = _undecided
if native.ENABLED:
    from .._native import head_headroom as _native_head_headroom
