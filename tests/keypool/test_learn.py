"""What provider headers say about a key's headroom."""

import time
from datetime import UTC, datetime, timedelta

from gateway.keypool.learn import head_headroom

NOW = 10**12
SECOND = 1_000_000_000


def headroom(headers: dict[str, str], now_ns: int):
    """What an answer with these headers teaches, read from its head as the data plane reads it."""
    head = "\r\n".join(["HTTP/1.1 200 OK", *(f"{k}: {v}" for k, v in headers.items())])
    return head_headroom(head.encode(), now_ns)


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


def test_remembered_resets_answer_as_when_first_parsed():
    # Reset values are parsed once and remembered: a repeat must still be relative to its own now.
    openai = {"x-ratelimit-remaining-requests": "5", "x-ratelimit-reset-requests": "250ms"}
    bad = {"x-ratelimit-remaining-requests": "5", "x-ratelimit-reset-requests": "soon"}
    for now in (NOW, NOW + 7 * SECOND):
        assert headroom(openai, now)[:2] == (5, now + SECOND // 4)
        assert headroom(bad, now)[:2] == (5, -1)
    at = datetime.now(UTC) + timedelta(seconds=60)
    anthropic = {
        "anthropic-ratelimit-requests-remaining": "1",
        "anthropic-ratelimit-requests-reset": at.isoformat().replace("+00:00", "Z"),
    }
    first, again = headroom(anthropic, time.monotonic_ns()), headroom(anthropic, time.monotonic_ns())
    assert first is not None and again is not None
    assert 55 * SECOND < again[1] - time.monotonic_ns() <= 60 * SECOND
