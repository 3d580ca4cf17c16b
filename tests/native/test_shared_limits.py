"""Limits shared by a cluster, in both implementations: charged as any limit on a node alone,
left to the caller in exact mode, spent from the node's lease in lease mode, and charged as the
node's share (1/live nodes) while Redis is unreachable — all or none, given back on a refusal."""

import pytest

from gateway.admission import Rejection
from gateway.admission.layout import CLUSTER_EXACT, CLUSTER_LEASE, key_id
from gateway.admission.spec import AdmissionSpec, ConsumerSpec, GroupSpec, LimitSpec
from gateway.credentials import digest

from .conftest import IMPLEMENTATIONS

CHAT = ("POST", "/v1/chat/completions")
NOW = 10**12
SECOND = 10**9
# 10 requests per second, 10 at once: T = 0.1 s.
SHARED = LimitSpec(1, "app 'acme/web'", "requests", 10, 1, 10, shared=True)
OWN = LimitSpec(2, "model 'chat'", "requests", 100, 1, 100)
TOKENS = LimitSpec(3, "key 'key_1'", "tokens", 1000, 1, 1000, shared=True)


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def impl(request):
    return IMPLEMENTATIONS[request.param]


@pytest.fixture
def make(impl, tmp_path):
    regions = []

    def build(mode: int = 0, degraded: int = 0, live: int = 1, lease_ns: int = 0, limits=(SHARED, OWN)):
        region = impl[1].create(str(tmp_path / f"region{len(regions)}"), 8, 1024, 64)
        regions.append(region)
        region.claim_worker(1)  # any live pid: this process's own row
        region.set_cluster_state(mode, degraded, live, lease_ns)
        spec = AdmissionSpec(
            consumers=[
                ConsumerSpec(
                    digest("aigw-k"),
                    "key_1",
                    "acme",
                    "web",
                    None,
                    tuple(lim.id for lim in limits if lim.id != OWN.id),
                )
            ],
            groups=[
                GroupSpec(
                    "chat", ("t1",), (key_id("p", "k1"),), tuple(lim.id for lim in limits if lim.id == OWN.id)
                )
            ],
            limits=list(limits),
        )
        return impl[0](spec, region), region

    yield build
    for region in regions:
        region.close()


def admit(table, now=NOW, tokens=0):
    return table.admit(*CHAT, "aigw-k", "chat", tokens, now=now)


def test_alone_a_shared_limit_is_charged_like_any(make):
    table, _ = make()
    admitted = [admit(table) for _ in range(12)]
    assert sum(not isinstance(d, Rejection) for d in admitted) == 10
    assert all(d.remote is None and d.refill is None for d in admitted if not isinstance(d, Rejection))


def test_exact_mode_leaves_the_shared_limit_to_the_caller(make):
    table, region = make(CLUSTER_EXACT)
    for _ in range(20):  # never refused here: the cluster decides
        d = admit(table)
        assert not isinstance(d, Rejection)
        assert d.remote == [(SHARED.id, SECOND // 10, SECOND, 1, 0, False)]
        table.finish(d)
    d = admit(table)
    in_flight = region.in_flight(d.slot)
    refused = table.refuse(d, SHARED.id, SECOND // 10)
    assert refused.status == 429 and "app 'acme/web'" in refused.message
    assert refused.retry_after_s == pytest.approx(0.1, abs=0.01)
    assert region.in_flight(d.slot) == in_flight - 1  # the request holds nothing any more
    with pytest.raises(KeyError):
        table.refuse(admit(table), OWN.id, 1)  # only a limit the cluster was asked about


def test_exact_refusal_gives_back_the_node_limits(make):
    own = LimitSpec(2, "model 'chat'", "requests", 3, 60, 3)
    table, _ = make(CLUSTER_EXACT, limits=(SHARED, own))
    for _ in range(5):
        d = admit(table)
        table.refuse(d, SHARED.id, SECOND)
    # Refused by the cluster, the requests cost the node's own limit nothing.
    assert sum(not isinstance(admit(table), Rejection) for _ in range(4)) == 3


def test_lease_mode_spends_the_lease_and_asks_for_more_when_it_runs_low(make):
    # A lease is 0.5 s of the limit's rate: 5 units.
    table, region = make(CLUSTER_LEASE, lease_ns=SECOND // 2)
    d = admit(table)
    assert d.remote == [(SHARED.id, SECOND // 10, SECOND, 1, 5, False)]  # nothing leased yet
    region.lease_credit(SHARED.id, 5)
    region.lease_settled(SHARED.id, 0)
    refills = []
    for _ in range(5):
        d = admit(table)
        assert not isinstance(d, Rejection) and d.remote is None
        refills.append(d.refill)
    assert region.lease_units(SHARED.id) == 0
    # One refill asked for, by the request that took the lease to its low-water mark (half a chunk).
    assert refills == [None, None, [(SHARED.id, SECOND // 10, SECOND, 0, 5, False)], None, None]
    d = admit(table)  # the lease is spent: this request asks the cluster itself
    assert d.remote is not None
    table.refuse(d, SHARED.id, SECOND)
    assert region.lease_units(SHARED.id) == 0  # a refused ask took nothing from the lease
    region.lease_settled(SHARED.id, NOW + SECOND // 4)  # the cluster has none for 0.25 s
    refused = admit(table)
    assert isinstance(refused, Rejection) and refused.retry_after_s == pytest.approx(0.25, abs=0.01)
    assert not isinstance(admit(table, NOW + SECOND // 4), Rejection)


def test_lease_mode_gives_back_on_a_refusal_and_settles_tokens(make):
    own = LimitSpec(2, "model 'chat'", "requests", 1, 60, 1)
    table, region = make(CLUSTER_LEASE, lease_ns=SECOND, limits=(SHARED, TOKENS, own))
    region.lease_credit(SHARED.id, 10)
    region.lease_credit(TOKENS.id, 1000)
    d = admit(table, tokens=100)
    assert d.remote is None
    assert isinstance(admit(table, tokens=100), Rejection)  # the node's own limit refuses
    assert (region.lease_units(SHARED.id), region.lease_units(TOKENS.id)) == (9, 900)  # given back
    table.finish(d, 40)
    assert region.lease_units(TOKENS.id) == 960  # 60 tokens not used go back to the lease


def test_degraded_the_node_charges_its_share(make):
    # Two nodes live when Redis was last reached: this one admits half the limit.
    table, _ = make(CLUSTER_EXACT, degraded=1, live=2)
    admitted = [admit(table) for _ in range(10)]
    assert sum(not isinstance(d, Rejection) for d in admitted) == 5
    assert all(d.remote is None for d in admitted if not isinstance(d, Rejection))


def test_charge_locally_when_redis_cannot_be_reached(make):
    table, region = make(CLUSTER_EXACT, live=2)
    decisions = [admit(table) for _ in range(6)]
    outcomes = [table.charge_locally(d, NOW) for d in decisions]
    assert outcomes[:5] == [None] * 5 and isinstance(outcomes[5], Rejection)
    assert all(d.remote is None for d in decisions)
    assert region.in_flight(decisions[5].slot) == 5  # the refused one holds nothing
