"""The consumer's limit state in OpenAI's header names and formats."""

from __future__ import annotations

import math
from typing import Any

from .. import native
from ..durations import go_duration
from ..errors import GatewayError


def limit_headers(d: Any) -> list[tuple[str, str]]:
    """x-ratelimit-* for the tightest request and token limits the decision was charged to."""
    out = []
    if d.requests_limit >= 0:
        out += [
            ("x-ratelimit-limit-requests", str(d.requests_limit)),
            ("x-ratelimit-remaining-requests", str(d.requests_remaining)),
            ("x-ratelimit-reset-requests", go_duration(d.requests_reset_ns / 1e9)),
        ]
    if d.tokens_limit >= 0:
        out += [
            ("x-ratelimit-limit-tokens", str(d.tokens_limit)),
            ("x-ratelimit-remaining-tokens", str(d.tokens_remaining)),
            ("x-ratelimit-reset-tokens", go_duration(d.tokens_reset_ns / 1e9)),
        ]
    return out


def rejection_headers(r: GatewayError) -> list[tuple[str, str]]:
    """Retry-After (and -ms) when the error says when a retry can succeed."""
    if r.retry_after_s is None:
        return []
    # Retry-After takes whole seconds: round up so a client that obeys it is never early.
    return [
        ("retry-after", str(max(1, math.ceil(r.retry_after_s)))),
        ("retry-after-ms", str(max(1, math.ceil(r.retry_after_s * 1000)))),
    ]


# The compiled builder (_native/ratelimit_headers.pxi) reads the native Decision's fields in C; this module
# stays its reference, used with the reference admission (gateway.native).
reference_limit_headers = limit_headers
if native.ENABLED:
    from .._native import limit_headers
