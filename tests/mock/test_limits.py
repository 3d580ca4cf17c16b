"""The mock's two limiters, at given instants: what they admit, what their headers say, and what
/_mock/stats records. A continuous limiter's reset is the time until it is full again (OpenAI's
"resets to its initial state"), long after the next request fits; a fixed window's reset is both."""

from __future__ import annotations

import pytest

from gateway.mock import limit_answers
from gateway.mock.limits import ContinuousBucket, RateLimits, WindowBucket

S = 1_000_000_000


def test_a_continuous_bucket_refills_one_unit_per_interval_and_is_full_a_window_after_use():
    bucket = ContinuousBucket(60, 60 * S)
    assert (bucket.remaining(0), bucket.until_full(0), bucket.wait(1, 0)) == (60, 0, 0)
    for _ in range(60):
        bucket.take(1, 0)
    assert (bucket.remaining(0), bucket.until_full(0)) == (0, 60 * S)
    assert bucket.wait(1, 0) == S  # one request refills in a second, not at the reset
    assert bucket.wait(1, S // 2) == S // 2
    assert (bucket.remaining(S), bucket.wait(1, S), bucket.until_full(S)) == (1, 0, 59 * S)
    assert bucket.wait(3, S) == 2 * S
    assert bucket.wait(61, S) == -1  # more than the whole limit never fits
    assert (bucket.remaining(60 * S), bucket.until_full(60 * S)) == (60, 0)
    assert bucket.remaining(600 * S) == 60  # never above the limit


def test_a_window_admits_its_limit_then_nothing_until_it_ends():
    bucket = WindowBucket(60, 60 * S)
    bucket.take(1, 5 * S)  # the window opens at the first request
    for _ in range(59):
        bucket.take(1, 6 * S)
    assert (bucket.remaining(6 * S), bucket.until_full(6 * S)) == (0, 59 * S)
    assert bucket.wait(1, 6 * S) == 59 * S  # next request and full again: one and the same moment
    assert bucket.wait(1, 65 * S) == 0
    assert (bucket.remaining(65 * S), bucket.until_full(65 * S)) == (60, 0)
    bucket.take(1, 70 * S)  # a new window opens at 70 s
    assert (bucket.remaining(71 * S), bucket.until_full(71 * S)) == (59, 59 * S)


@pytest.mark.parametrize(
    ("limiter", "next_free", "reset"), [("continuous", 0.5, "1s"), ("fixed_window", 1.0, "1s")]
)
def test_admissions_and_refusals_are_recorded_with_when_the_key_can_take_the_next(limiter, next_free, reset):
    limits = RateLimits(rpm=2, tpm=0, window_s=1.0, limiter=limiter)
    assert limits.admit("k", 5, 10.0) is None
    assert limits.admit("k", 5, 10.0) is None
    status, body, wait = limit_answers.refusal(limits.admit("k", 5, 10.0), "m", 5)
    assert status == 429 and b'"code":"rate_limit_exceeded"' in body and wait == pytest.approx(next_free)
    head = limit_answers.headers(limits, "k", 10.0).decode()
    assert "x-ratelimit-limit-requests: 2\r\n" in head
    assert "x-ratelimit-remaining-requests: 0\r\n" in head
    assert f"x-ratelimit-reset-requests: {reset}\r\n" in head
    assert "tokens" not in head  # no tpm: no token headers
    assert limit_answers.retry_after(wait) == b"retry-after: 1\r\n"  # whole seconds, rounded up
    stats = limits.stats()["k"]
    assert stats["refused"] == [10.0]
    assert [free for _, free in stats["admitted"]] == pytest.approx([10.0, 10.0 + next_free])


def test_token_limits_refuse_what_does_not_fit_and_what_never_will():
    limits = RateLimits(rpm=0, tpm=100, window_s=60.0)
    assert limits.admit("k", 80, 0.0) is None
    status, body, wait = limit_answers.refusal(limits.admit("k", 30, 0.0), "m", 30)
    assert status == 429 and b"Used 80, Requested 30" in body
    assert wait == pytest.approx(6.0)  # 10 tokens refill in 6 s
    status, body, wait = limit_answers.refusal(limits.admit("k", 101, 0.0), "m", 101)
    assert (status, wait) == (429, 0.0) and b"Request too large" in body
    assert "x-ratelimit-remaining-tokens: 20\r\n" in limit_answers.headers(limits, "k", 0.0).decode()
