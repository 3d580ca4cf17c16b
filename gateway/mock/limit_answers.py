"""OpenAI's words for the mock's rate limits: the x-ratelimit-* headers on every answer, and the
429's body and `retry-after`.

Docs: https://platform.openai.com/docs/guides/rate-limits (headers) and
https://platform.openai.com/docs/guides/error-codes (429 `rate_limit_exceeded`).
"""

from __future__ import annotations

import math

from ..durations import go_duration
from .errors import error_body
from .limits import RateLimits, Refusal

_ORG = "org-mock"
_RL_URL = "Visit https://platform.openai.com/account/rate-limits to learn more."


def headers(limits: RateLimits, label: str, now_s: float) -> bytes:
    """x-ratelimit-{limit,remaining,reset}-{requests,tokens}: the reset is the time until the limit
    is back to its initial state, in Go's duration format to the millisecond."""
    if not limits.on:
        return b""
    state = limits.state(label, now_s)
    out = b""
    for name, kind in ((b"requests", state.requests), (b"tokens", state.tokens)):
        if kind is not None:
            limit, remaining, until_full = kind
            out += (
                b"x-ratelimit-limit-%s: %d\r\nx-ratelimit-remaining-%s: %d\r\nx-ratelimit-reset-%s: %s\r\n"
            ) % (name, limit, name, remaining, name, go_duration(until_full).encode())
    return out


def refusal(r: Refusal, model: str, tokens: int) -> tuple[int, bytes, float]:
    """(429, OpenAI's body, seconds until the request fits: 0 when it never will)."""
    if not r.tokens:
        msg = (
            f"Rate limit reached for {model} in organization {_ORG} on requests per min (RPM): "
            f"Limit {r.limit}, Used {r.used}, Requested 1. "
            f"Please try again in {go_duration(r.wait_s)}. {_RL_URL}"
        )
        return 429, error_body(msg, "requests", None, "rate_limit_exceeded"), r.wait_s
    if r.wait_s < 0:
        msg = (
            f"Request too large for {model} in organization {_ORG} on tokens per min (TPM): "
            f"Limit {r.limit}, Requested {tokens}. The input or output tokens must be reduced "
            f"in order to run successfully. {_RL_URL}"
        )
        return 429, error_body(msg, "tokens", None, "rate_limit_exceeded"), 0.0
    msg = (
        f"Rate limit reached for {model} in organization {_ORG} on tokens per min (TPM): "
        f"Limit {r.limit}, Used {r.used}, Requested {tokens}. "
        f"Please try again in {go_duration(r.wait_s)}. {_RL_URL}"
    )
    return 429, error_body(msg, "tokens", None, "rate_limit_exceeded"), r.wait_s


def retry_after(wait_s: float) -> bytes:
    """OpenAI's 429s say when to retry in whole seconds, rounded up; the headers say it to the ms."""
    return b"retry-after: %d\r\n" % max(1, math.ceil(wait_s)) if wait_s > 0 else b""
