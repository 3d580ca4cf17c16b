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


def openai_headroom(headers: Any, now_ns: int) -> tuple[int, int, int, int, int, int] | None:
    """(remaining, reset_at, limit) for requests then tokens, or None when the answer had none."""
    remaining_requests = _int(headers, "x-ratelimit-remaining-requests")
    remaining_tokens = _int(headers, "x-ratelimit-remaining-tokens")
    if remaining_requests < 0 and remaining_tokens < 0:
        return None
    return (
        remaining_requests,
        _reset_at(headers, "x-ratelimit-reset-requests", now_ns) if remaining_requests >= 0 else -1,
        _int(headers, "x-ratelimit-limit-requests"),
        remaining_tokens,
        _reset_at(headers, "x-ratelimit-reset-tokens", now_ns) if remaining_tokens >= 0 else -1,
        _int(headers, "x-ratelimit-limit-tokens"),
    )


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


def anthropic_headroom(headers: Any, now_ns: int) -> tuple[int, int, int, int, int, int] | None:
    """The same, from anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}."""
    remaining_requests = _int(headers, "anthropic-ratelimit-requests-remaining")
    remaining_tokens = _int(headers, "anthropic-ratelimit-tokens-remaining")
    if remaining_requests < 0 and remaining_tokens < 0:
        return None
    return (
        remaining_requests,
        _rfc3339_at(headers, "anthropic-ratelimit-requests-reset", now_ns) if remaining_requests >= 0 else -1,
        _int(headers, "anthropic-ratelimit-requests-limit"),
        remaining_tokens,
        _rfc3339_at(headers, "anthropic-ratelimit-tokens-reset", now_ns) if remaining_tokens >= 0 else -1,
        _int(headers, "anthropic-ratelimit-tokens-limit"),
    )


def headroom(headers: Any, now_ns: int) -> tuple[int, int, int, int, int, int] | None:
    """Whatever the answer says about the key's headroom, in OpenAI's or Anthropic's headers."""
    return openai_headroom(headers, now_ns) or anthropic_headroom(headers, now_ns)
