import pytest

from gateway import _native
from gateway.admission import reference
from gateway.admission.spec import AdmissionSpec, ConsumerSpec, GroupSpec
from gateway.credentials import digest

IMPLEMENTATIONS = {"native": _native.AdmissionTable, "reference": reference.AdmissionTable}

KEYS = {
    "aigw-all": ("key_all", "acme", "web", None),
    "aigw-mini": ("key_mini", "acme", "batch", frozenset({"mini"})),
}


def make_spec() -> AdmissionSpec:
    return AdmissionSpec(
        consumers=[ConsumerSpec(digest(k), *rest) for k, rest in KEYS.items()],
        groups=[GroupSpec("mini", ("t1", "t2", "t3")), GroupSpec("embed", ("e1",))],
    )


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def table_cls(request):
    return IMPLEMENTATIONS[request.param]


@pytest.fixture
def table(table_cls):
    return table_cls(make_spec())
