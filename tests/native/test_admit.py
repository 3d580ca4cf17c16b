"""The native core and the pure-Python reference, held to the same behaviour."""

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.admission import ROUTE_CHAT, ROUTE_MODELS, Rejection

from .conftest import IMPLEMENTATIONS, make_spec

CHAT = ("POST", "/v1/chat/completions")


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


def test_an_app_only_reaches_the_models_it_is_allowed(table):
    assert rejected(table.admit(*CHAT, "aigw-mini", "embed"), 404, "model_not_found")
    assert table.admit(*CHAT, "aigw-mini", "mini").group == "mini"


def test_a_rejection_never_echoes_the_credential(table):
    r = table.admit(*CHAT, "aigw-secret-guess-123", "mini")
    assert "aigw-secret-guess-123" not in r.message


calls = st.tuples(
    st.sampled_from(["GET", "POST", "DELETE"]),
    st.sampled_from(["/v1/chat/completions", "/v1/embeddings", "/v1/models", "/v2/x"]),
    st.sampled_from([None, "", "aigw-all", "aigw-mini", "aigw-other"]),
    st.sampled_from([None, "mini", "embed", "ghost"]),
)


def outcome(result):
    if isinstance(result, Rejection):
        return ("reject", result.status, result.type, result.code, result.message, result.param)
    return ("admit", result.route, result.key_id, result.tenant, result.app, result.group, result.target)


@settings(max_examples=300, deadline=None)
@given(st.lists(calls, max_size=40))
def test_native_matches_the_reference_on_random_traces(trace):
    native = IMPLEMENTATIONS["native"](make_spec())
    ref = IMPLEMENTATIONS["reference"](make_spec())
    for call in trace:
        assert outcome(native.admit(*call)) == outcome(ref.admit(*call))
