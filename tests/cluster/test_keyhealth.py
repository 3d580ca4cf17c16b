"""A provider key's health as it travels between nodes (gateway/cluster/keyhealth.py), from one
node's shared region to another's, in both region implementations: what the provider said keeps
its limiter and the time it was said, older figures never replace newer ones, a rate limit's
cooldown travels and a rest after server failures does not, and an expired record says nothing."""

from __future__ import annotations

import time

import pytest

from gateway.admission.layout import (
    COOL_RATE_LIMITED,
    COOL_SERVER_ERRORS,
    LIMITER_CONTINUOUS,
    LIMITER_FIXED_WINDOW,
    STATE_DISABLED,
    STATE_HEALTHY,
    STATE_INVALID,
    key_id,
)
from gateway.cluster.keyhealth import DECODER, ENCODER, KeyHealthRecord, apply, record_of

from ..native.conftest import IMPLEMENTATIONS

SECOND = 1_000_000_000
KEY = key_id("openai", "k1")


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def regions(request, tmp_path):
    """Two nodes' regions: each its own key table (and, on another host, its own clock)."""
    region_class = IMPLEMENTATIONS[request.param][1]
    return [region_class.create(str(tmp_path / f"node{i}"), 8, 64, 16) for i in range(2)]


def travel(region, slot: int):
    """The key's record as node A sends it: encoded, and decoded by node B."""
    return DECODER.decode(ENCODER.encode(record_of(region, slot, KEY, "a:8080")))


def test_what_the_provider_said_arrives_with_its_limiter_and_when_it_was_said(regions):
    a, b = regions
    slot_a, slot_b = a.key_slot(KEY), b.key_slot(KEY)
    now = time.monotonic_ns()
    said = now - 2 * SECOND  # two seconds ago: a continuous limiter has refilled since
    a.learn(slot_a, LIMITER_CONTINUOUS, said, 10, now + 30 * SECOND, 100, 900, now + 40 * SECOND, 10_000)

    assert apply(b, travel(a, slot_a))
    got = b.record(slot_b)
    assert got["limiter"] == LIMITER_CONTINUOUS
    assert (got["remaining_requests"], got["limit_requests"]) == (10, 100)
    assert (got["remaining_tokens"], got["limit_tokens"]) == (900, 10_000)
    # The same moments on B's clock (here the same host: within a millisecond of the figures').
    assert abs(got["learned_requests"] - said) < 1_000_000
    assert abs(got["learned_tokens"] - said) < 1_000_000
    assert abs(got["reset_requests"] - (now + 30 * SECOND)) < 1_000_000


def test_older_figures_never_replace_what_a_node_learnt_since(regions):
    a, b = regions
    slot_a, slot_b = a.key_slot(KEY), b.key_slot(KEY)
    now = time.monotonic_ns()
    a.learn(slot_a, LIMITER_FIXED_WINDOW, now - SECOND, 50, now + 30 * SECOND, 100, -1, -1, -1)
    stale = travel(a, slot_a)
    b.learn(slot_b, LIMITER_FIXED_WINDOW, now, 20, now + 30 * SECOND, 100, -1, -1, -1)  # B's own, newer

    apply(b, stale)
    assert b.record(slot_b)["remaining_requests"] == 20
    assert b.record(slot_b)["learned_requests"] == now


def test_a_rate_limit_travels_a_rest_after_server_errors_does_not(regions):
    a, b = regions
    slot_a, slot_b = a.key_slot(KEY), b.key_slot(KEY)
    now = time.monotonic_ns()
    a.cool(slot_a, now + 5 * SECOND, COOL_RATE_LIMITED)
    apply(b, travel(a, slot_a))
    assert b.cool_cause(slot_b) == COOL_RATE_LIMITED
    assert abs(b.cool_until(slot_b) - (now + 5 * SECOND)) < 1_000_000

    other = key_id("openai", "k2")
    slot_a2, slot_b2 = a.key_slot(other), b.key_slot(other)
    a.cool(slot_a2, now + 5 * SECOND, COOL_SERVER_ERRORS)  # A's path to the provider may be at fault
    apply(b, DECODER.decode(ENCODER.encode(record_of(a, slot_a2, other, "a:8080"))))
    assert b.cool_until(slot_b2) == 0


def test_a_refused_key_is_refused_everywhere_but_an_operators_disable_stays_on_its_node(regions):
    a, b = regions
    slot_a, slot_b = a.key_slot(KEY), b.key_slot(KEY)
    now = time.monotonic_ns()
    a.set_state(slot_a, STATE_INVALID, now, now + 600 * SECOND)
    apply(b, travel(a, slot_a))
    assert b.state(slot_b) == STATE_INVALID

    a.set_state(slot_a, STATE_DISABLED, time.monotonic_ns())
    assert travel(a, slot_a).state == STATE_HEALTHY  # what A's operator did is A's alone


def test_an_expired_record_says_nothing(regions):
    _, b = regions
    then = time.time() - 60
    old = KeyHealthRecord(key=KEY, node="a:8080", at=then, state=STATE_INVALID, expires=then + 59)
    assert not apply(b, DECODER.decode(ENCODER.encode(old)))
    assert b.state(b.key_slot(KEY)) == STATE_HEALTHY
