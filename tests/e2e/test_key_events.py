"""The node's recent key events through the admin API: each transition once, in order, paged by
sequence number; operators only."""

from __future__ import annotations

from .conftest import Admin, Gateway, member_token, until


def _events(gw: Gateway, after: int = 0) -> dict:
    response = gw.admin("GET", "/admin/upstream-key-events", params={"after": after})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_disabled_key_and_its_recovery_are_events_in_order(gateway: Gateway) -> None:
    start = _events(gateway)["last"]
    gateway.admin("POST", "/admin/upstream-keys/mock/mock-key-2/disable").raise_for_status()
    page = until(lambda: _events(gateway, start)["events"] and _events(gateway, start), "a disabled event")
    assert [(e["event"], e["provider"], e["key_id"]) for e in page["events"]] == [
        ("disabled", "mock", "mock-key-2")
    ]
    assert page["last"] == start + 1 and not page["missed"]
    # Passing `last` back gives only what came after it.
    assert _events(gateway, page["last"])["events"] == []

    gateway.admin("POST", "/admin/upstream-keys/mock/mock-key-2/enable").raise_for_status()
    later = until(lambda: _events(gateway, page["last"])["events"], "a recovered event")
    assert [(e["event"], e["key_id"]) for e in later] == [("recovered", "mock-key-2")]
    assert [e["event"] for e in _events(gateway, start)["events"]] == ["disabled", "recovered"]


def test_key_events_are_for_operators_and_bad_cursors_are_refused(gateway: Gateway) -> None:
    operator = Admin(gateway.admin_url, "test-admin-token")
    operator.ok("POST", "/admin/tenants", json={"name": "events-team"})
    owner = member_token(operator, "events-team", "olivia")
    refused = owner("GET", "/admin/upstream-key-events")
    assert refused.status_code == 403 and "operator" in refused.json()["error"]["message"]
    bad = gateway.admin("GET", "/admin/upstream-key-events", params={"after": "-1"})
    assert bad.status_code == 400 and "after" in bad.json()["error"]["message"]


def test_keys_added_at_runtime_are_told_from_the_config_files(gateway: Gateway) -> None:
    added = gateway.admin("POST", "/admin/upstream-keys/mock", json={"key_id": "extra", "secret": "sk-x"})
    assert added.status_code == 201, added.text
    try:
        keys = {k["key_id"]: k for k in gateway.admin("GET", "/admin/upstream-keys").json()}
        assert keys["extra"]["added_at_runtime"] is True
        assert keys["mock-key-1"]["added_at_runtime"] is False
    finally:
        gateway.admin("DELETE", "/admin/upstream-keys/mock/extra").raise_for_status()
