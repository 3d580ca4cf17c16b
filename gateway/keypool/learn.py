"""What a provider's response says about the key's headroom, in the shape `region.learn` takes.

OpenAI (and compatible servers) send x-ratelimit-{limit,remaining,reset}-{requests,tokens}, the
reset as a Go duration ("6m0s", "250ms"); Anthropic sends anthropic-ratelimit-* with RFC 3339
reset times. Anything missing is -1: nothing learnt.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from typing import Any

from ..durations import parse_go_duration


def _int(headers: Any, name: str) -> int:
    value = headers.get(name)
    if value is None:
        return -1
    try:
        return int(value)
    except ValueError:
        return -1


def _reset_at(headers: Any, name: str, now_ns: int) -> int:
    value = headers.get(name)
    if not value:
        return -1
    # Every answer carries two resets, and their values repeat ("6ms", "0s", "1m30s"): parse
    # each distinct one once. Bounded, as the values come from the network.
    seconds = _durations.get(value, _UNPARSED)
    if seconds is _UNPARSED:
        seconds = parse_go_duration(value)
        if len(_durations) >= 4096:
            _durations.clear()
        _durations[value] = seconds
    return -1 if seconds is None else now_ns + int(seconds * 1e9)


_durations: dict[str, float | None] = {}
_UNPARSED: Any = object()


def _rfc3339_at(headers: Any, name: str, now_ns: int) -> int:
    # Anthropic gives resets as wall-clock times; the key record runs on the monotonic clock.
    value = headers.get(name)
    if not value:
        return -1
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return -1
    return now_ns + max(0, int((at - time.time()) * 1e9))


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


def headroom(headers: dict[str, str], now_ns: int) -> Headroom | None:
    """reference_headroom, with OpenAI's headers (on every answer of most providers) read in C
    when their values have the plain forms; `headers` as Response.header_values gives them."""
    learned = _openai_headroom(headers, now_ns)
    if learned is False:
        learned = _read(headers, now_ns, _OPENAI, _reset_at)
    return learned or _read(headers, now_ns, _ANTHROPIC, _rfc3339_at)


def _undecided(headers: Any, now_ns: int) -> bool:
    return False  # the reference reads every answer


_openai_headroom: Any = _undecided
if os.environ.get("AIGW_PURE_PYTHON") != "1":
    from .._native import openai_headroom as _openai_headroom
