"""What provider headers say about a key's headroom."""

import time
from datetime import UTC, datetime, timedelta

from gateway.keypool.learn import headroom

NOW = 10**12
SECOND = 1_000_000_000


def test_openai_headers_with_go_durations():
    learned = headroom(
        {
            "x-ratelimit-limit-requests": "60",
            "x-ratelimit-remaining-requests": "59",
            "x-ratelimit-reset-requests": "1s",
            "x-ratelimit-limit-tokens": "150000",
            "x-ratelimit-remaining-tokens": "149984",
            "x-ratelimit-reset-tokens": "6m0s",
        },
        NOW,
    )
    assert learned == (59, NOW + SECOND, 60, 149984, NOW + 360 * SECOND, 150000)


def test_anthropic_headers_with_rfc3339_resets():
    reset = (datetime.now(UTC) + timedelta(seconds=30)).isoformat().replace("+00:00", "Z")
    learned = headroom(
        {
            "anthropic-ratelimit-requests-limit": "50",
            "anthropic-ratelimit-requests-remaining": "49",
            "anthropic-ratelimit-requests-reset": reset,
        },
        time.monotonic_ns(),
    )
    assert learned is not None
    remaining, reset_at, limit, tokens_left, tokens_reset, _ = learned
    assert (remaining, limit, tokens_left, tokens_reset) == (49, 50, -1, -1)
    assert 28 * SECOND < reset_at - time.monotonic_ns() <= 30 * SECOND


def test_no_rate_limit_headers_teach_nothing():
    assert headroom({"content-type": "application/json"}, NOW) is None
