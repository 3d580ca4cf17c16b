"""Budgets in both implementations: daily, monthly and lifetime caps on requests, tokens and cost,
charged all-or-none with the limits and exact across processes sharing one region."""

import calendar
import multiprocessing
import os
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import _native
from gateway.admission import Rejection, budgets
from gateway.admission.layout import key_id
from gateway.admission.spec import AdmissionSpec, BudgetSpec, ConsumerSpec, GroupSpec, LimitSpec
from gateway.credentials import digest

from .conftest import IMPLEMENTATIONS

CHAT = ("POST", "/v1/chat/completions")
NOW = 10**12
# 2026-11-26 12:00:00 UTC, and the moments around the end of that day and month.
WALL = calendar.timegm((2026, 11, 26, 12, 0, 0))
TOMORROW = calendar.timegm((2026, 11, 27, 0, 0, 0))
NEXT_MONTH = calendar.timegm((2026, 12, 1, 0, 0, 0))


def spec(*budget_specs: BudgetSpec, limits: tuple[LimitSpec, ...] = (), keys: int = 1) -> AdmissionSpec:
    return AdmissionSpec(
        consumers=[
            ConsumerSpec(
                digest("aigw-k"),
                "key_1",
                "acme",
                "web",
                None,
                tuple(lim.id for lim in limits),
                tuple(b.id for b in budget_specs),
            )
        ],
        groups=[
            GroupSpec(
                "m", tuple(f"t{i}" for i in range(keys)), tuple(key_id("p", f"k{i}") for i in range(keys))
            )
        ],
        limits=list(limits),
        budgets=list(budget_specs),
    )


def admit(table, tokens=0, wall=WALL):
    return table.admit(*CHAT, "aigw-k", "m", tokens, NOW, wall)


def test_a_daily_request_budget_admits_its_amount_then_names_itself_and_its_reset(impl, region):
    table = impl[0](spec(BudgetSpec(7, "app 'acme/web'", "requests", 3, "day", scope="app")), region)
    assert all(not isinstance(admit(table), Rejection) for _ in range(3))
    r = admit(table)
    assert isinstance(r, Rejection) and (r.status, r.code, r.type) == (
        429,
        "budget_exceeded",
        "insufficient_quota",
    )
    assert r.message == (
        "Daily request budget of app 'acme/web' (3 requests) is used up; resets 2026-11-27T00:00:00Z."
    )
    assert r.retry_after_s == TOMORROW - WALL and r.limit_scope == "app"
    # A new UTC day is a new period: the same counter starts afresh.
    assert not isinstance(admit(table, wall=TOMORROW), Rejection)
    assert region.budget_used(7, budgets.period_index("day", TOMORROW)) == 1


def test_a_token_budget_charges_the_estimate_and_settles_on_actual_usage(impl, region):
    table = impl[0](spec(BudgetSpec(8, "key 'key_1'", "tokens", 1000, "month")), region)
    month = budgets.period_index("month", WALL)
    d = admit(table, tokens=600)
    assert region.budget_used(8, month) == 600
    table.finish(d, actual_tokens=900)
    table.finish(d, actual_tokens=900)  # idempotent
    assert region.budget_used(8, month) == 900
    # Not used up yet (900 < 1000): admitted, and its usage counts in full.
    d = admit(table, tokens=300)
    table.finish(d, actual_tokens=250)
    assert region.budget_used(8, month) == 1150
    r = admit(table)
    assert isinstance(r, Rejection) and "Monthly token budget of key 'key_1' (1,000 tokens)" in r.message
    assert "resets 2026-12-01T00:00:00Z" in r.message and r.retry_after_s == NEXT_MONTH - WALL
    assert not isinstance(admit(table, wall=NEXT_MONTH), Rejection)


def test_a_cost_budget_is_charged_the_real_cost_at_finish(impl, region):
    table = impl[0](spec(BudgetSpec(9, "tenant 'acme'", "cost", 50_000, "day")), region)
    day = budgets.period_index("day", WALL)
    d = admit(table, tokens=100)
    assert region.budget_used(9, day) == 0
    table.finish(d, actual_tokens=80, cost_micros=50_000)
    assert region.budget_used(9, day) == 50_000
    r = admit(table)
    assert isinstance(r, Rejection) and "Daily cost budget of tenant 'acme' ($0.05) is used up" in r.message


def test_a_lifetime_budget_never_resets_and_promises_no_retry(impl, region):
    table = impl[0](spec(BudgetSpec(10, "key 'key_1'", "requests", 2, "lifetime")), region)
    admit(table)
    admit(table, wall=NEXT_MONTH)
    r = admit(table, wall=NEXT_MONTH + 400 * 86400)
    assert isinstance(r, Rejection) and r.retry_after_s is None
    assert r.message.startswith(
        "Lifetime request budget of key 'key_1' (2 requests) is used up; it does not reset."
    )


def test_a_refused_call_charges_no_budget_and_no_limit(impl, region):
    limit = LimitSpec(1, "app 'acme/web'", "requests", 2, 60, 2)
    requests = BudgetSpec(11, "app 'acme/web'", "requests", 5, "day")
    tokens = BudgetSpec(12, "tenant 'acme'", "tokens", 100, "day")
    table = impl[0](spec(requests, tokens, limits=(limit,)), region)
    day = budgets.period_index("day", WALL)
    admit(table, tokens=150)  # uses the token budget up
    # The token budget refuses: the request budget and the GCRA limit are given back.
    assert admit(table, tokens=10).code == "budget_exceeded"
    assert region.budget_used(11, day) == 1
    assert not isinstance(admit(table.__class__(spec(requests, limits=(limit,)), region)), Rejection)
    # The GCRA limit refuses (burst 2 used): no budget is charged.
    assert admit(table).code == "rate_limit_exceeded"
    assert region.budget_used(11, day) == 2


def test_a_pool_with_no_usable_key_gives_the_budget_back(impl, region):
    table = impl[0](spec(BudgetSpec(13, "app 'acme/web'", "requests", 5, "day")), region)
    region.cool(region.key_slot(key_id("p", "k0")), NOW + 10**9)
    assert admit(table).code == "upstream_capacity_exhausted"
    assert region.budget_used(13, budgets.period_index("day", WALL)) == 0


def test_usage_settled_after_its_period_ended_stays_in_that_period(impl, region):
    table = impl[0](spec(BudgetSpec(14, "app 'acme/web'", "tokens", 1000, "day")), region)
    d = admit(table, tokens=100)
    admit(table, tokens=10, wall=TOMORROW)
    table.finish(d, actual_tokens=500)  # admitted yesterday: today's count is not touched
    assert region.budget_used(14, budgets.period_index("day", TOMORROW)) == 10


def test_seeding_adds_to_the_current_period_and_replaces_an_old_one(impl, region):
    day = budgets.period_index("day", WALL)
    region.seed_budget(15, day - 1, 70)
    region.seed_budget(15, day, 40)
    region.seed_budget(15, day, 2)
    assert (region.budget_used(15, day), region.budget_used(15, day - 1)) == (42, 0)
    table = impl[0](spec(BudgetSpec(15, "app 'acme/web'", "requests", 43, "day")), region)
    assert not isinstance(admit(table), Rejection)
    assert admit(table).code == "budget_exceeded"


@given(st.integers(min_value=0, max_value=4_102_444_800))
def test_native_periods_match_the_reference(wall):
    for period in ("day", "month", "lifetime"):
        assert _native.period_index(period, wall) == budgets.period_index(period, wall)
    month = budgets.period_index("month", wall)
    assert budgets.period_start("month", month) <= wall < budgets.resets_at("month", month)


# -- exact across processes -----------------------------------------------------------------
PROCESSES = 4
ATTEMPTS = 20_000
REQUEST_BUDGET = 50_000
TOKEN_BUDGET = 4_000_000
SHARED = spec(
    BudgetSpec(21, "app 'acme/web'", "requests", REQUEST_BUDGET, "day"),
    BudgetSpec(22, "tenant 'acme'", "tokens", TOKEN_BUDGET, "month"),
)


def charge(impl_name, path, seed, start_ns, queue):
    table_cls, region_cls = IMPLEMENTATIONS[impl_name]
    region = region_cls.attach(path)
    region.claim_worker(os.getpid())
    table = table_cls(SHARED, region)
    admitted, tokens = 0, 0
    while time.monotonic_ns() < start_ns:  # all processes start together, so they contend
        pass
    for i in range(ATTEMPTS):
        d = admit(table, tokens=40)
        if isinstance(d, Rejection):
            assert d.code == "budget_exceeded"
            continue
        actual = 20 + (seed * 7 + i) % 50  # settles up and down from the estimate
        table.finish(d, actual_tokens=actual)
        admitted += 1
        tokens += actual
    queue.put((admitted, tokens))


def test_processes_charge_one_counter_exactly(impl, region_path):
    # One implementation at a time: the reference's file lock does not exclude the native CAS,
    # so the two are byte-compatible but not meant to update one word at the same moment.
    impl_name = next(name for name, pair in IMPLEMENTATIONS.items() if pair == impl)
    impl[1].create(region_path, 8, 1024, 64).close()
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    start = time.monotonic_ns() + 300_000_000
    procs = [
        ctx.Process(target=charge, args=(impl_name, region_path, n, start, queue)) for n in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    admitted = sum(a for a, _ in results)
    tokens = sum(t for _, t in results)
    region = impl[1].attach(region_path)
    try:
        # Every charge and settlement landed: the counters equal what the processes report.
        assert region.budget_used(21, budgets.period_index("day", WALL)) == admitted
        assert region.budget_used(22, budgets.period_index("month", WALL)) == tokens
        # 80,000 attempts at a 50,000-request budget (the token budget never binds: 50,000 calls
        # use at most 3,450,000 tokens): exactly 50,000 admitted, however the processes interleaved.
        assert admitted == REQUEST_BUDGET
        assert tokens < TOKEN_BUDGET
    finally:
        region.close()


def test_a_refusal_by_a_limit_budget_or_pool_names_the_consumer_for_the_call_log(impl, region):
    limit = LimitSpec(1, "app 'acme/web'", "requests", 1, 60, 1)
    table = impl[0](spec(BudgetSpec(16, "app 'acme/web'", "requests", 1, "day")), region)
    admit(table)
    assert admit(table).consumer == ("key_1", "acme", "web")  # the budget
    table = impl[0](spec(limits=(limit,)), region)
    admit(table)
    assert admit(table).consumer == ("key_1", "acme", "web")  # the limit
    assert table.admit(*CHAT, "aigw-wrong", "m").consumer is None


RANDOM_SPEC = spec(
    BudgetSpec(31, "tenant 'acme'", "requests", 12, "day"),
    BudgetSpec(32, "app 'acme/web'", "tokens", 900, "month"),
    BudgetSpec(33, "key 'key_1'", "cost", 5_000, "day"),
    BudgetSpec(34, "key 'key_1'", "requests", 30, "lifetime"),
    limits=(LimitSpec(2, "app 'acme/web'", "tokens", 600, 60, 600),),
)

steps = st.tuples(
    st.integers(0, 120),  # the token estimate
    st.one_of(st.none(), st.integers(-1, 200)),  # finish with these tokens (-1: unknown), or never
    st.integers(-1, 3_000),  # the call's cost in micro-USD (-1: unknown)
    st.sampled_from([0, 1, 3600, 6 * 3600, 86400, 31 * 86400]),  # wall-clock step
)


@settings(max_examples=150, deadline=None)
@given(st.lists(steps, max_size=40))
def test_native_matches_the_reference_on_random_budget_traces(tmp_path_factory, trace):
    tables = []
    for table_cls, region_cls in IMPLEMENTATIONS.values():
        region = region_cls.create(str(tmp_path_factory.mktemp("r") / "region"), 4, 256, 16)
        region.claim_worker(os.getpid())
        tables.append((table_cls(RANDOM_SPEC, region), region))
    wall = calendar.timegm((2026, 11, 30, 20, 0, 0))  # a day and a month end are near
    for n, (estimate, actual, cost, step) in enumerate(trace):
        wall += step
        results = [t.admit(*CHAT, "aigw-k", "m", estimate, NOW + n * 10**9, wall) for t, _ in tables]
        rejected = [
            (r.code, r.message, r.retry_after_s) if isinstance(r, Rejection) else None for r in results
        ]
        assert rejected[0] == rejected[1]
        if rejected[0] is None and actual is not None:
            for (table, _), d in zip(tables, results, strict=True):
                table.finish(d, actual, cost)
        used = [
            [region.budget_used(b.id, budgets.period_index(b.period, wall)) for b in RANDOM_SPEC.budgets]
            for _, region in tables
        ]
        assert used[0] == used[1]
