"""How long a provider's 429 keeps a key cooling: as precisely as the provider says."""

from gateway.keypool.learn import cooldown_s


def test_retry_after_ms_wins():
    assert cooldown_s({"retry-after-ms": "1500", "retry-after": "2"}) == 1.5


def test_the_reset_of_the_used_up_limit_beats_a_whole_second_retry_after():
    headers = {
        "retry-after": "2",  # rounded up to whole seconds
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "1.234s",
        "x-ratelimit-remaining-tokens": "9000",
        "x-ratelimit-reset-tokens": "6m0s",  # not the limit that refused
    }
    assert cooldown_s(headers) == 1.234


def test_both_limits_used_up_wait_for_the_later_reset():
    headers = {
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "250ms",
        "x-ratelimit-remaining-tokens": "0",
        "x-ratelimit-reset-tokens": "3s",
    }
    assert cooldown_s(headers) == 3.0


def test_retry_after_then_any_reset_then_nothing():
    assert cooldown_s({"retry-after": "7", "x-ratelimit-reset-requests": "1s"}) == 7.0
    assert cooldown_s({"x-ratelimit-reset-tokens": "20s"}) == 20.0
    assert cooldown_s({"retry-after": "soon"}) is None
    assert cooldown_s({}) is None
