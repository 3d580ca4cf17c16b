import os

import pytest

from gateway import _native
from gateway.admission import reference, reference_region
from gateway.admission.layout import key_id
from gateway.admission.spec import OPENAI_ROUTES, AdmissionSpec, ConsumerSpec, GroupSpec, LimitSpec
from gateway.credentials import digest

IMPLEMENTATIONS = {
    "native": (_native.AdmissionTable, _native.SharedRegion),
    "reference": (reference.AdmissionTable, reference_region.ReferenceRegion),
}

KEYS = {
    "aigw-all": ("key_all", "acme", "web", None, (1,)),
    "aigw-mini": ("key_mini", "acme", "batch", frozenset({"mini"}), (2,)),
}

LIMITS = [
    LimitSpec(1, "app 'acme/web'", "requests", 5, 60, 5, "app"),
    LimitSpec(2, "app 'acme/batch'", "tokens", 1000, 60, 1000, "app"),
    LimitSpec(3, "model 'mini'", "requests", 8, 60, 8, "model"),
]

# Configured limits of two keys (providers that send no rate-limit headers); always in the spec.
KEY_LIMITS = [
    LimitSpec(10, "key 'b/b1'", "requests", 2, 60, 2),
    LimitSpec(11, "key 'b/b2'", "tokens", 500, 60, 500),
]


EXTRA_ROUTES = {
    ("GET", "/v1/things/{id}"): 10,
    ("POST", "/v1/things/{id}/run"): 11,
    ("GET", "/static/*"): 12,
}


def make_spec(limits: bool = True) -> AdmissionSpec:
    return AdmissionSpec(
        routes={**OPENAI_ROUTES, **EXTRA_ROUTES},
        consumers=[
            ConsumerSpec(digest(k), *rest[:4], limits=rest[4] if limits else ()) for k, rest in KEYS.items()
        ],
        groups=[
            GroupSpec(
                "mini",
                ("t1", "t2", "t3"),
                tuple(key_id("p", k) for k in ("k1", "k2", "k3")),
                (3,) if limits else (),
                aliases=("mini-latest",),
            ),
            GroupSpec("embed", ("e1",), (key_id("p", "e1"),)),
            # Two primary keys, one backup tier.
            GroupSpec(
                "tiered",
                ("p1", "p2", "b1"),
                tuple(key_id("q", k) for k in ("p1", "p2", "b1")),
                tier_sizes=(2, 1),
            ),
            GroupSpec(
                "weighted",
                ("w1", "w2"),
                tuple(key_id("w", k) for k in ("w1", "w2")),
                strategy="weighted",
                weights=(3, 1),
            ),
            GroupSpec("with-backup", ("x1",), (key_id("x", "x1"),), fallbacks=("embed",)),
            GroupSpec(
                "budgeted",
                ("b1", "b2"),
                tuple(key_id("b", k) for k in ("b1", "b2")),
                key_limits=((10,), (11,)),
            ),
        ],
        limits=(LIMITS if limits else []) + KEY_LIMITS,
    )


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def impl(request):
    return IMPLEMENTATIONS[request.param]


@pytest.fixture
def region_path(tmp_path):
    return str(tmp_path / "region")


@pytest.fixture
def region(impl, region_path):
    r = impl[1].create(region_path, 8, 1024, 64)
    r.claim_worker(os.getpid())
    yield r
    r.close()


@pytest.fixture
def make_table(impl, region):
    def make(limits: bool = False):
        return impl[0](make_spec(limits), region)

    return make


@pytest.fixture
def table(make_table):
    return make_table()
