"""The native core and the pure-Python reference, held to the same behaviour."""

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.admission import ROUTE_CHAT, ROUTE_MODELS, Rejection
from gateway.admission.layout import (
    LIMITER_CONTINUOUS,
    LIMITER_FIXED_WINDOW,
    STATE_DISABLED,
    STATE_EXHAUSTED,
    STATE_INVALID,
    key_id,
)

from .conftest import IMPLEMENTATIONS, make_spec

CHAT = ("POST", "/v1/chat/completions")
SECOND = 1_000_000_000
CONTINUOUS, WINDOW = LIMITER_CONTINUOUS, LIMITER_FIXED_WINDOW


def test_a_known_key_is_admitted_with_its_owner_and_a_target(table):
    d = table.admit(*CHAT, "aigw-all", "mini")
    assert (d.route, d.key_id, d.tenant, d.app, d.group) == (ROUTE_CHAT, "key_all", "acme", "web", "mini")
    assert d.target in ("t1", "t2", "t3")


def test_targets_rotate_through_the_pool(table):
    picked = [table.admit(*CHAT, "aigw-all", "mini").target for _ in range(6)]
    assert picked == ["t1", "t2", "t3", "t1", "t2", "t3"]


def test_routes_without_a_model_pick_no_target(table):
    d = table.admit("GET", "/v1/models", "aigw-mini", None)
    assert d.route == ROUTE_MODELS and d.target is None and d.models == frozenset({"mini"})


def rejected(result, status, code):
    return isinstance(result, Rejection) and (result.status, result.code) == (status, code)


def test_rejections_in_the_order_a_caller_needs_them(table):
    assert rejected(table.admit("POST", "/v1/nope", "aigw-all", "mini"), 404, "unknown_url")
    assert rejected(table.admit("GET", "/v1/chat/completions", None, None), 405, "method_not_allowed")
    assert rejected(table.admit(*CHAT, None, "mini"), 401, "missing_api_key")
    assert rejected(table.admit(*CHAT, "", "mini"), 401, "missing_api_key")
    assert rejected(table.admit(*CHAT, "aigw-wrong", "mini"), 401, "invalid_api_key")
    assert rejected(table.admit(*CHAT, "aigw-all", "ghost"), 404, "model_not_found")


def test_param_and_prefix_routes_match_whole_segments_and_name_their_params(table):
    d = table.admit("GET", "/v1/things/42", "aigw-all", None)
    assert (d.route, d.params) == (10, {"id": "42"})
    assert table.admit("POST", "/v1/things/42/run", "aigw-all", None).params == {"id": "42"}
    assert table.admit("GET", "/v1/models", "aigw-all", None).params is None
    assert rejected(table.admit("POST", "/v1/things/42", "aigw-all", None), 405, "method_not_allowed")
    assert rejected(table.admit("GET", "/v1/things/", "aigw-all", None), 404, "unknown_url")
    assert rejected(table.admit("GET", "/v1/things/1/2", "aigw-all", None), 404, "unknown_url")
    assert table.admit("GET", "/static/css/site.css", "aigw-all", None).route == 12
    assert table.admit("GET", "/static", "aigw-all", None).route == 12
    assert rejected(table.admit("GET", "/staticx", "aigw-all", None), 404, "unknown_url")


def test_an_app_only_reaches_the_models_it_is_allowed(table):
    assert rejected(table.admit(*CHAT, "aigw-mini", "embed"), 404, "model_not_found")
    assert table.admit(*CHAT, "aigw-mini", "mini").group == "mini"


def test_an_alias_is_its_group_with_the_groups_permissions(table):
    assert table.admit(*CHAT, "aigw-mini", "mini-latest").group == "mini"
    assert "mini-latest" in table.group_names()


def test_a_rejection_never_echoes_the_credential(table):
    r = table.admit(*CHAT, "aigw-secret-guess-123", "mini")
    assert "aigw-secret-guess-123" not in r.message


def test_request_limit_admits_its_burst_then_names_itself_and_when_to_retry(make_table):
    table = make_table(limits=True)
    now = 10**12
    admitted = [table.admit(*CHAT, "aigw-all", "mini", 0, now) for _ in range(6)]
    assert all(not isinstance(d, Rejection) for d in admitted[:5])
    assert [d.requests_remaining for d in admitted[:5]] == [4, 3, 2, 1, 0]
    assert admitted[0].requests_limit == 5
    r = admitted[5]
    assert rejected(r, 429, "rate_limit_exceeded") and r.type == "requests"
    assert "app 'acme/web'" in r.message and "requests per minute: limit 5" in r.message
    assert r.limit_scope == "app"  # for the call log, from the limit itself
    # One request's worth (60 s / 5) must drain before the next fits.
    assert r.retry_after_s == 12.0
    assert not isinstance(table.admit(*CHAT, "aigw-all", "mini", 0, now + 12 * SECOND), Rejection)


def test_a_rejection_charges_no_limit_at_all(make_table):
    # 'mini' allows 8 requests, the web app 5: the 6th web request is refused by the app limit
    # and must not use up the model's allowance, which the batch app then still gets in full.
    table = make_table(limits=True)
    now = 10**12
    for _ in range(7):
        table.admit(*CHAT, "aigw-all", "mini", 0, now)
    results = [table.admit(*CHAT, "aigw-mini", "mini", 10, now) for _ in range(4)]
    assert [isinstance(r, Rejection) for r in results] == [False, False, False, True]
    assert rejected(results[3], 429, "rate_limit_exceeded") and "model 'mini'" in results[3].message
    assert results[3].limit_scope == "model"


def test_token_limits_admit_on_the_estimate_and_settle_on_actual_usage(make_table):
    table = make_table(limits=True)
    now = 10**12
    d = table.admit(*CHAT, "aigw-mini", "mini", 600, now)
    assert (d.tokens_limit, d.tokens_remaining) == (1000, 400)
    assert rejected(table.admit(*CHAT, "aigw-mini", "mini", 600, now), 429, "rate_limit_exceeded")
    table.finish(d, actual_tokens=100)
    table.finish(d, actual_tokens=100)  # idempotent: settles once
    assert table.admit(*CHAT, "aigw-mini", "mini", 600, now).tokens_remaining == 300


def test_a_cooling_key_is_skipped_and_a_cooled_pool_says_when_it_recovers(table, region):
    now = 10**12
    first = table.admit(*CHAT, "aigw-all", "mini", 0, now)
    region.cool(first.slot, now + 5 * SECOND)
    picked = {table.admit(*CHAT, "aigw-all", "mini", 0, now).target for _ in range(6)}
    assert picked == {"t2", "t3"}
    for target in ("t2", "t3"):
        d = next(
            d
            for d in (table.admit(*CHAT, "aigw-all", "mini", 0, now) for _ in range(3))
            if d.target == target
        )
        region.cool(d.slot, now + 3 * SECOND)
    r = table.admit(*CHAT, "aigw-all", "mini", 0, now)
    assert rejected(r, 429, "upstream_capacity_exhausted") and r.type == "rate_limit_error"
    assert r.retry_after_s == 3.0 and "'mini'" in r.message
    assert table.admit(*CHAT, "aigw-all", "mini", 0, now + 3 * SECOND).target in ("t2", "t3")


def test_in_flight_counts_rise_on_admit_and_fall_on_finish(table, region):
    d = table.admit(*CHAT, "aigw-all", "mini")
    assert region.in_flight(d.slot) == 1
    table.finish(d)
    assert region.in_flight(d.slot) == 0


def test_a_dead_process_in_flight_row_is_reconciled(impl, region, region_path):
    d = impl[0](make_spec(), region).admit(*CHAT, "aigw-all", "mini")
    pid = os.fork()
    if pid == 0:  # a child takes a row, puts a request in flight on the same key, and dies
        child = impl[1].attach(region_path)
        child.claim_worker(os.getpid())
        impl[0](make_spec(), child).admit(*CHAT, "aigw-all", "mini")
        os._exit(0)
    os.waitpid(pid, 0)
    slots = [region.key_slot(key_id("p", k)) for k in ("k1", "k2", "k3")]
    assert sum(region.in_flight(s) for s in slots) == 2
    assert region.reconcile() == 1
    assert sum(region.in_flight(s) for s in slots) == 1 == region.in_flight(d.slot)
    assert region.reconcile() == 0


def test_a_process_that_stops_cleanly_gives_its_row_back_and_is_not_reconciled(impl, region, region_path):
    pid = os.fork()
    if pid == 0:  # a child takes a row, puts a request in flight, and stops as a worker does
        child = impl[1].attach(region_path)
        child.claim_worker(os.getpid())
        impl[0](make_spec(), child).admit(*CHAT, "aigw-all", "mini")
        child.release_worker()
        child.close()
        os._exit(0)
    os.waitpid(pid, 0)
    slots = [region.key_slot(key_id("p", k)) for k in ("k1", "k2", "k3")]
    assert sum(region.in_flight(s) for s in slots) == 0  # given back, not waiting for a reconcile
    assert region.reconcile() == 0  # nothing to mend: no "dead worker" for the supervisor


def slots_of(region):
    return {t: region.key_slot(key_id("p", k)) for t, k in (("t1", "k1"), ("t2", "k2"), ("t3", "k3"))}


def test_headroom_prefers_the_key_with_most_capacity_left_as_the_provider_reported(table, region):
    now = 10**12
    slots = slots_of(region)
    later = now + 30 * SECOND
    region.learn(slots["t1"], WINDOW, now, 10, later, 100, -1, -1, -1)  # 10% left
    region.learn(slots["t2"], WINDOW, now, 90, later, 100, -1, -1, -1)  # 90% left
    region.learn(slots["t3"], WINDOW, now, 50, later, 100, -1, -1, -1)
    assert table.admit(*CHAT, "aigw-all", "mini", 0, now).target == "t2"
    # Once its reset time has passed, what the provider said no longer holds: t1 counts as full.
    region.learn(slots["t2"], WINDOW, now, 60, later + 30 * SECOND, 100, -1, -1, -1)
    region.learn(slots["t3"], WINDOW, now, 70, later + 30 * SECOND, 100, -1, -1, -1)
    assert table.admit(*CHAT, "aigw-all", "mini", 0, later + 1).target == "t1"


def test_a_continuous_limiter_refills_towards_its_reset_so_a_used_up_key_fills_first(table, region):
    # 100 a minute: t1 was used up 45 s ago (full again in 15 s: 75 left now); t2 has 60 left and
    # t3 70, both full in 60 s (so they refill as slowly as t1). By the model t1 has the most.
    now = 10**12
    slots = slots_of(region)
    region.learn(slots["t1"], CONTINUOUS, now - 45 * SECOND, 0, now + 15 * SECOND, 100, -1, -1, -1)
    region.learn(slots["t2"], CONTINUOUS, now, 60, now + 24 * SECOND, 100, -1, -1, -1)
    region.learn(slots["t3"], CONTINUOUS, now, 70, now + 18 * SECOND, 100, -1, -1, -1)
    assert table.admit(*CHAT, "aigw-all", "mini", 0, now).target == "t1"


def test_a_key_past_its_reset_is_full_less_what_it_has_in_flight(table, region):
    # A key back from a 429 must not take every request until its next answer: past its reset it
    # has its whole limit again, and what it has in flight counts against it like on any key.
    now = 10**12
    slots = slots_of(region)
    region.learn(slots["t1"], WINDOW, now, 0, now + SECOND, 100, -1, -1, -1)  # refused; resets in 1 s
    region.learn(slots["t2"], WINDOW, now, 80, now + 60 * SECOND, 100, -1, -1, -1)
    region.learn(slots["t3"], WINDOW, now, 70, now + 60 * SECOND, 100, -1, -1, -1)
    later = now + 2 * SECOND
    picks = [table.admit(*CHAT, "aigw-all", "mini", 0, later).target for _ in range(40)]  # all in flight
    # t1 alone until 20 in flight (80% left, as t2), then t1 and t2 in turn; t3 not yet.
    assert picks[:20] == ["t1"] * 20
    assert (picks.count("t1"), picks.count("t2"), picks.count("t3")) == (30, 10, 0)


def test_a_key_that_cannot_cover_the_token_estimate_is_not_picked_until_it_can(table, region):
    now = 10**12
    slots = slots_of(region)
    for t, remaining in (("t1", 100), ("t2", 5000), ("t3", 200)):
        region.learn(slots[t], WINDOW, now, -1, -1, -1, remaining, now + SECOND, 10_000)
    assert table.admit(*CHAT, "aigw-all", "mini", 1000, now).target == "t2"
    region.cool(slots["t2"], now + 2 * SECOND)
    r = table.admit(*CHAT, "aigw-all", "mini", 1000, now)
    # None has 1000 tokens until the windows of t1 and t3 end, in a second.
    assert rejected(r, 429, "upstream_capacity_exhausted") and r.retry_after_s == 1.0
    # A request larger than a key's whole token limit never fits it; larger than every key's, the
    # pool has no moment to promise (as for configured limits) and says a minute.
    assert table.admit(*CHAT, "aigw-all", "mini", 20_000, now).retry_after_s == 60.0


@pytest.mark.parametrize(("limiter", "room_s"), [(CONTINUOUS, 1.0), (WINDOW, 60.0)])
def test_a_key_with_no_request_left_is_not_picked_until_its_limiter_has_room(table, region, limiter, room_s):
    # 60 a minute, used up: a continuous limiter (full again in 60 s) has room for one request a
    # second later; a fixed window only at its reset. The pool's 429 says when.
    now = 10**12
    slots = slots_of(region)
    for t in ("t1", "t2"):
        region.learn(slots[t], limiter, now, 0, now + 60 * SECOND, 60, -1, -1, -1)
    assert {table.admit(*CHAT, "aigw-all", "mini", 0, now).target for _ in range(4)} == {"t3"}
    region.cool(slots["t3"], now + 100 * SECOND)
    r = table.admit(*CHAT, "aigw-all", "mini", 0, now)
    assert rejected(r, 429, "upstream_capacity_exhausted") and r.retry_after_s == room_s
    later = now + int(room_s * SECOND)
    assert rejected(table.admit(*CHAT, "aigw-all", "mini", 0, later - 1), 429, "upstream_capacity_exhausted")
    first = table.admit(*CHAT, "aigw-all", "mini", 0, later)
    assert first.target in ("t1", "t2")
    second = table.admit(*CHAT, "aigw-all", "mini", 0, later)
    if limiter == CONTINUOUS:
        # One request's room each: the other key takes the second; a third waits for the next refill,
        # counting the two in flight.
        assert {first.target, second.target} == {"t1", "t2"}
        assert table.admit(*CHAT, "aigw-all", "mini", 0, later).retry_after_s == 1.0
    else:
        assert second.target in ("t1", "t2")  # the window's whole limit is back


def test_a_key_over_its_configured_limits_is_not_picked_and_the_pool_says_when_one_has_room(table):
    now = 10**12
    # b1 may take 2 requests a minute; b2 500 tokens a minute (5 of these 100-token requests).
    admitted = [table.admit(*CHAT, "aigw-all", "budgeted", 100, now) for _ in range(7)]
    assert sorted(d.target for d in admitted) == ["b1"] * 2 + ["b2"] * 5
    r = table.admit(*CHAT, "aigw-all", "budgeted", 100, now)
    # b2 has room for 100 tokens again after 100 x 60 s / 500 = 12 s; b1 for a request after 30 s.
    assert rejected(r, 429, "upstream_capacity_exhausted") and r.retry_after_s == 12.0
    # A request that used no tokens gives its estimate back to the key's token limit.
    table.finish(next(d for d in admitted if d.target == "b2"), 0)
    assert table.admit(*CHAT, "aigw-all", "budgeted", 100, now).target == "b2"
    assert rejected(table.admit(*CHAT, "aigw-all", "budgeted", 100, now), 429, "upstream_capacity_exhausted")
    # A request with no token estimate costs b2's token limit nothing: b2 still takes it.
    assert table.admit(*CHAT, "aigw-all", "budgeted", 0, now).target == "b2"


def test_a_pool_with_fallbacks_says_when_the_first_of_them_has_a_key_back(table, region):
    now = 10**12
    region.cool(region.key_slot(key_id("x", "x1")), now + 10 * SECOND)
    assert table.admit(*CHAT, "aigw-all", "with-backup", 0, now).target == "e1"  # the fallback serves
    region.cool(region.key_slot(key_id("p", "e1")), now + 3 * SECOND)
    r = table.admit(*CHAT, "aigw-all", "with-backup", 0, now)
    assert rejected(r, 429, "upstream_capacity_exhausted") and r.retry_after_s == 3.0
    assert "'with-backup'" in r.message  # named as the caller asked, though the fallback recovers first


def test_exhausted_invalid_and_disabled_keys_are_never_picked(table, region):
    now = 10**12
    slots = slots_of(region)
    region.set_state(slots["t1"], STATE_EXHAUSTED, now, now + 7 * SECOND)
    region.set_state(slots["t2"], STATE_INVALID, now, now + 9 * SECOND)
    assert {table.admit(*CHAT, "aigw-all", "mini", 0, now).target for _ in range(5)} == {"t3"}
    region.set_state(slots["t3"], STATE_DISABLED, now)
    r = table.admit(*CHAT, "aigw-all", "mini", 0, now)
    # Nothing usable: the earliest honest hope is the exhausted key's next probe.
    assert rejected(r, 429, "upstream_capacity_exhausted") and r.retry_after_s == 7.0


def test_a_lower_priority_tier_serves_only_when_no_key_of_the_first_can(table, region):
    now = 10**12
    assert {table.admit(*CHAT, "aigw-all", "tiered", 0, now).target for _ in range(6)} == {"p1", "p2"}
    for k in ("p1", "p2"):
        region.cool(region.key_slot(key_id("q", k)), now + SECOND)
    assert table.admit(*CHAT, "aigw-all", "tiered", 0, now).target == "b1"
    assert table.admit(*CHAT, "aigw-all", "tiered", 0, now + SECOND).target in ("p1", "p2")


def test_weighted_spreads_by_deployment_weight(table):
    picked = [table.admit(*CHAT, "aigw-all", "weighted").target for _ in range(8)]
    assert (picked.count("w1"), picked.count("w2")) == (6, 2)


def test_repick_moves_a_request_to_an_untried_key_and_its_in_flight_count_with_it(table, region):
    now = 10**12
    d = table.admit(*CHAT, "aigw-all", "mini", 0, now)
    tried = {d.slot}
    assert table.repick(d, tried, now) is None
    assert d.slot not in tried and region.in_flight(d.slot) == 1
    assert sum(region.in_flight(s) for s in tried) == 0
    tried.add(d.slot)
    assert table.repick(d, tried, now) is None
    tried.add(d.slot)
    r = table.repick(d, tried, now)
    assert rejected(r, 429, "upstream_capacity_exhausted")
    table.finish(d)
    assert sum(region.in_flight(s) for s in slots_of(region).values()) == 0


calls = st.tuples(
    st.sampled_from(["GET", "POST", "DELETE"]),
    st.sampled_from(
        [
            "/v1/chat/completions",
            "/v1/embeddings",
            "/v1/models",
            "/v2/x",
            "/v1/things/7",
            "/v1/things/7/run",
            "/static/a",
        ]
    ),
    st.sampled_from([None, "", "aigw-all", "aigw-mini", "aigw-other"]),
    st.sampled_from(
        [None, "mini", "mini-latest", "embed", "tiered", "weighted", "budgeted", "with-backup", "ghost"]
    ),
    st.integers(0, 400),
    st.integers(0, 30 * SECOND),
)


def outcome(result):
    if isinstance(result, Rejection):
        return (
            "reject",
            result.status,
            result.type,
            result.code,
            result.message,
            result.param,
            result.retry_after_s,
            result.limit_scope,
        )
    return (
        "admit", result.route, result.params, result.key_id, result.tenant, result.app,
        result.group, result.target,
        result.requests_limit, result.requests_remaining, result.requests_reset_ns,
        result.tokens_limit, result.tokens_remaining, result.tokens_reset_ns,
    )  # fmt: skip


key_events = st.tuples(
    st.sampled_from(["t1", "t2", "t3"]),
    st.sampled_from(["learn", "cool", "exhaust", "heal"]),
    st.integers(0, 100),
    st.integers(0, 5 * SECOND),
    st.sampled_from([CONTINUOUS, WINDOW]),
    st.integers(0, 5 * SECOND),
)


@settings(max_examples=200, deadline=None)
@given(
    trace=st.lists(calls, max_size=40),
    cooled=st.lists(st.integers(0, 2), max_size=2),
    events=st.lists(key_events, max_size=10),
)
def test_native_matches_the_reference_on_random_traces(tmp_path_factory, trace, cooled, events):
    tables = []
    for table_cls, region_cls in IMPLEMENTATIONS.values():
        region = region_cls.create(str(tmp_path_factory.mktemp("r") / "region"), 4, 256, 16)
        region.claim_worker(os.getpid())
        tables.append((table_cls(make_spec(), region), region))
    now = 10**12
    for target, kind, amount, span, limiter, age in events:
        for _, region in tables:
            slot = slots_of(region)[target]
            if kind == "learn":
                learned = now - age  # what the provider said, `age` ago
                region.learn(slot, limiter, learned, amount, now + span, 100, amount * 10, now + span, 1000)
            elif kind == "cool":
                region.cool(slot, now + span)
            else:
                region.set_state(slot, STATE_EXHAUSTED if kind == "exhaust" else 0, now, now + span)
    for method, path, key, model, tokens, step in trace:
        now += step
        results = [t.admit(method, path, key, model, tokens, now) for t, _ in tables]
        assert outcome(results[0]) == outcome(results[1])
        if model == "mini" and cooled and not isinstance(results[0], Rejection):
            for (_, region), d in zip(tables, results, strict=True):
                region.cool(d.slot, now + cooled[0] * SECOND)
