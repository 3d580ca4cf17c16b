"""Which refusal a pool gives, from its keys' records in the shared region (the native region and
the reference, held to the same behaviour)."""

from __future__ import annotations

import time

import pytest

from gateway import _native
from gateway.admission import Rejection, reference_region
from gateway.admission.layout import (
    COOL_RATE_LIMITED,
    COOL_SERVER_ERRORS,
    COOL_UNREACHABLE,
    STATE_DISABLED,
    STATE_INVALID,
    key_id,
)
from gateway.admission.rejections import pool_exhausted
from gateway.keypool.causes import key_cause, pool_refusal

SECOND = 1_000_000_000


@pytest.fixture(params=["native", "reference"])
def region(request, tmp_path):
    impl = _native.SharedRegion if request.param == "native" else reference_region.ReferenceRegion
    r = impl.create(str(tmp_path / "region"), 4, 1024, 1024)
    yield r
    r.close()


def slots(region, *names: str) -> list[tuple[str, int]]:
    return [("openai", int(region.key_slot(key_id("openai", n)))) for n in names]


def refuse(region, keys, now: int, admission_wait_s: float = 300.0) -> Rejection:
    return pool_refusal("chat", keys, region, now, pool_exhausted("chat", int(admission_wait_s * SECOND)))


def test_a_cooldown_records_its_cause_only_when_it_extends(region):
    now = time.monotonic_ns()
    ((_, slot),) = slots(region, "a")
    assert region.cool(slot, now + 10 * SECOND, COOL_RATE_LIMITED)
    assert not region.cool(slot, now + SECOND, COOL_SERVER_ERRORS)  # shorter: the 429 still rules
    assert key_cause(region, slot, now) == "rate_limited"
    assert key_cause(region, slot, now + 11 * SECOND) is None  # past it: usable


def test_a_rate_limited_key_sets_the_time_not_another_keys_probe(region):
    now = time.monotonic_ns()
    keys = slots(region, "a", "b")
    region.cool(keys[0][1], now + 12 * SECOND, COOL_RATE_LIMITED)
    region.set_state(keys[1][1], STATE_INVALID, now, now + 300 * SECOND)
    r = refuse(region, keys, now, admission_wait_s=12.0)
    assert (r.status, r.code, r.retry_after_s) == (429, "upstream_capacity_exhausted", 12.0)
    assert r.message.endswith(
        "Its 2 key(s): 1 rate-limited by its provider; 1 refused by its provider (invalid or revoked)."
    )


def test_resting_keys_are_unreachable_or_a_circuit_with_the_time_of_the_next_try(region):
    now = time.monotonic_ns()
    keys = slots(region, "a", "b")
    region.cool(keys[0][1], now + 2 * SECOND, COOL_UNREACHABLE)
    region.cool(keys[1][1], now + 4 * SECOND, COOL_SERVER_ERRORS)
    r = refuse(region, keys, now)
    assert (r.status, r.type, r.code, r.retry_after_s) == (503, "api_error", "upstream_unreachable", 2.0)
    assert "'openai' serving model 'chat' could not be reached (ConnectError)" in r.message
    r = refuse(region, keys[1:], now)
    assert (r.status, r.code, r.retry_after_s) == (503, "upstream_circuit_open", 4.0)


def test_refused_and_disabled_keys_give_no_time(region):
    now = time.monotonic_ns()
    keys = slots(region, "a", "b")
    region.set_state(keys[0][1], STATE_INVALID, now, now + 300 * SECOND)
    region.set_state(keys[1][1], STATE_DISABLED, now)
    r = refuse(region, keys, now)
    assert (r.status, r.code, r.retry_after_s) == (502, "upstream_auth_failed", None)
    r = refuse(region, keys[1:], now)
    assert (r.status, r.code, r.retry_after_s) == (503, "upstream_keys_disabled", None)


def test_a_usable_key_admission_passed_over_is_at_its_configured_limits(region):
    now = time.monotonic_ns()
    keys = slots(region, "a", "b")
    region.set_state(keys[1][1], STATE_DISABLED, now)
    r = refuse(region, keys, now, admission_wait_s=0.5)
    assert (r.status, r.code, r.retry_after_s) == (429, "upstream_capacity_exhausted", 0.5)
