"""What a provider's response says about the key's headroom, in the shape `region.learn` takes.

OpenAI (and compatible servers) send x-ratelimit-{limit,remaining,reset}-{requests,tokens}, the
reset as a Go duration ("6m0s", "250ms"); Anthropic sends anthropic-ratelimit-* with RFC 3339
reset times. Anything missing is -1: nothing learnt.
"""

from __future__ import annotations

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
    seconds = parse_go_duration(value) if value else None
    return -1 if seconds is None else now_ns + int(seconds * 1e9)


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


def _read(headers: Any, now_ns: int, requests: str, tokens: str, reset_at: Any) -> Headroom | None:
    """(remaining, reset_at, limit) for requests then tokens; `requests`/`tokens` are header
    name patterns with {} for limit/remaining/reset."""
    out: list[int] = []
    for pattern in (requests, tokens):
        remaining = _int(headers, pattern.format("remaining"))
        reset = reset_at(headers, pattern.format("reset"), now_ns) if remaining >= 0 else -1
        out += [remaining, reset, _int(headers, pattern.format("limit"))]
    return None if out[0] < 0 and out[3] < 0 else (out[0], out[1], out[2], out[3], out[4], out[5])


def headroom(headers: Any, now_ns: int) -> Headroom | None:
    """What the answer says about the key's headroom, in OpenAI's or Anthropic's headers."""
    return _read(headers, now_ns, "x-ratelimit-{}-requests", "x-ratelimit-{}-tokens", _reset_at) or _read(
        headers, now_ns, "anthropic-ratelimit-requests-{}", "anthropic-ratelimit-tokens-{}", _rfc3339_at
    )
