"""What a provider's 429 says about when its key can take a request again, read as each provider
documents it, and how a key that keeps refusing backs off."""

import json

import pytest

from gateway.admission.layout import LIMITER_CONTINUOUS, LIMITER_FIXED_WINDOW
from gateway.keypool.health import rate_limit_wait
from gateway.keypool.provider_limits import Cooldown, limiter_of, retry_delay, rules_for

NOW = 10**12
SECOND = 1_000_000_000
OPENAI = rules_for("openai")


def used_up(reset_s: float, limit: int = 60):
    """Figures learnt from an answer at NOW: requests used up, full again in `reset_s`."""
    return (0, NOW + int(reset_s * SECOND), limit, -1, -1, -1)


def test_retry_after_ms_is_precise_and_wins():
    cooldown = OPENAI.after_429({"retry-after-ms": "1500", "retry-after": "2"}, b"", used_up(60), 1, NOW)
    assert cooldown == Cooldown(1.5)


def test_a_continuous_limiter_has_room_long_before_its_reset():
    # 60 a minute, used up, full again in 60 s: one request refills in a second. The whole-second
    # retry-after only rounds that up.
    headers = {"retry-after": "2"}
    continuous = OPENAI.after_429(headers, b"", used_up(60), LIMITER_CONTINUOUS, NOW)
    window = OPENAI.after_429(headers, b"", used_up(60), LIMITER_FIXED_WINDOW, NOW)
    assert continuous == Cooldown(1.0, 60.0)
    assert window == Cooldown(60.0, 60.0)  # a fixed window: only when it ends


def test_both_limits_used_up_wait_for_the_later():
    learned = (0, NOW + SECOND // 4, 10, 0, NOW + 3 * SECOND, 1000)
    assert OPENAI.after_429({}, b"", learned, LIMITER_FIXED_WINDOW, NOW) == Cooldown(3.0, 3.0)


def test_without_a_limit_used_up_retry_after_says_when():
    # The 429 was for something its figures do not show (a daily cap, another model's limit).
    learned = (30, NOW + 30 * SECOND, 60, -1, -1, -1)
    assert OPENAI.after_429({"retry-after": "7"}, b"", learned, LIMITER_CONTINUOUS, NOW).wait_s == 7.0
    assert OPENAI.after_429({"retry-after": "7"}, b"", None, LIMITER_CONTINUOUS, NOW) == Cooldown(7.0)
    assert OPENAI.after_429({"retry-after": "soon"}, b"", None, LIMITER_CONTINUOUS, NOW) == Cooldown(None)
    assert OPENAI.after_429({}, b"", None, LIMITER_CONTINUOUS, NOW) == Cooldown(None)


def test_anthropic_retry_after_binds_even_after_the_figures():
    anthropic = rules_for("anthropic")
    # "The number of seconds to wait until you can retry the request. Earlier retries will fail."
    cooldown = anthropic.after_429({"retry-after": "2"}, b"", used_up(60), LIMITER_CONTINUOUS, NOW)
    assert cooldown == Cooldown(2.0, 60.0)


def test_gemini_says_when_in_the_body():
    body = json.dumps(
        {
            "error": {
                "code": 429,
                "status": "RESOURCE_EXHAUSTED",
                "details": [
                    {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []},
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "46.5s"},
                ],
            }
        }
    ).encode()
    assert retry_delay(body) == 46.5
    assert rules_for("gemini").after_429({}, body, None, LIMITER_FIXED_WINDOW, NOW) == Cooldown(46.5)
    assert retry_delay(b"not json") is None and retry_delay(b'{"error": {"details": []}}') is None


def test_each_type_has_its_documented_limiter_unless_configured():
    assert limiter_of("openai", None) == limiter_of("anthropic", None) == LIMITER_CONTINUOUS
    assert limiter_of("gemini", None) == LIMITER_FIXED_WINDOW
    assert limiter_of("openai", "fixed_window") == LIMITER_FIXED_WINDOW
    assert limiter_of("some_new_type", None) == LIMITER_CONTINUOUS


@pytest.mark.parametrize(
    ("streak", "cooldown", "wait"),
    [
        (1, Cooldown(1.0, 60.0), 1.0),  # the provider's word
        (2, Cooldown(1.0, 60.0), 2.0),  # it was wrong once: twice as long
        (3, Cooldown(1.0, 60.0), 4.0),
        (9, Cooldown(1.0, 60.0), 60.0),  # never past the moment the limit is full again
        (2, Cooldown(0.0, 60.0), 0.1),  # from at least 50 ms
        (8, Cooldown(1.0), 60.0),  # a minute when the provider gives no full time
        (1, Cooldown(None), 1.0),  # nothing said: exponential backoff from 1 s
        (3, None, 4.0),
        (9, None, 60.0),
    ],
)
def test_a_key_that_keeps_refusing_waits_longer_each_time(streak, cooldown, wait):
    assert rate_limit_wait(streak, cooldown) == wait
