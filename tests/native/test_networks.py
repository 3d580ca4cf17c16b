"""A key limited to some client networks (a temporary key's allowance): used from anywhere else it
is refused before admission charges anything, so a leaked key cannot spend its owner's limits.
Both implementations."""

from ipaddress import ip_network

import pytest

from gateway.admission import Rejection
from gateway.admission.layout import key_id
from gateway.admission.spec import OPENAI_ROUTES, AdmissionSpec, ConsumerSpec, GroupSpec, LimitSpec
from gateway.credentials import digest

CHAT = ("POST", "/v1/chat/completions")
NETWORKS = (ip_network("10.0.0.0/8"), ip_network("2001:db8::/32"))


@pytest.fixture
def table(impl, region):
    spec = AdmissionSpec(
        routes=OPENAI_ROUTES,
        consumers=[
            ConsumerSpec(digest("aigw-net"), "key_net", "acme", "web", None, limits=(1,), networks=NETWORKS)
        ],
        groups=[GroupSpec("mini", ("t1",), (key_id("p", "k1"),))],
        limits=[LimitSpec(1, "key 'key_net'", "requests", 1, 60, 1)],  # one request a minute
    )
    return impl[0](spec, region)


@pytest.mark.parametrize("client", ["192.168.1.5:40000", "[2001:db9::1]:443", "not-an-address:1", "", None])
def test_a_key_used_from_outside_its_networks_is_refused_with_403(table, client):
    r = table.admit(*CHAT, "aigw-net", "mini", client=client)
    assert isinstance(r, Rejection)
    assert (r.status, r.type, r.code) == (403, "permission_error", "network_not_allowed")
    assert r.consumer == ("key_net", "acme", "web")  # the call log knows whose key it was
    assert (client or "this address") in r.message


def test_refusals_charge_nothing(table):
    for _ in range(5):
        assert table.admit(*CHAT, "aigw-net", "mini", client="203.0.113.9:5000").code == "network_not_allowed"
    # The minute's one request is still there for the key's owner, from inside its networks.
    d = table.admit(*CHAT, "aigw-net", "mini", client="10.1.2.3:5555")
    assert not isinstance(d, Rejection) and d.target == "t1"
    assert table.admit(*CHAT, "aigw-net", "mini", client="[2001:db8::5]:443").code == "rate_limit_exceeded"


def test_routes_without_a_model_are_refused_too(table):
    models = ("GET", "/v1/models", "aigw-net", None)
    assert table.admit(*models, client="192.168.1.5:1").code == "network_not_allowed"
    assert not isinstance(table.admit(*models, client="10.9.9.9:1"), Rejection)
