"""Tenant isolation on the admin API: tenant A's owner token tries every authenticated endpoint of
the OpenAPI document against tenant B's resources, and reads every listing; nothing of B is read
or changed. The list of endpoints comes from the document, so a new endpoint is tried at once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .conftest import ADMIN_TOKEN, TENANCY_YAML, Admin, Gateway, member_token

# Endpoints every principal may use by design: the catalog is shared across tenants (published
# services only), whoami says who you are.
SHARED = {("GET", "/admin/catalog"), ("GET", "/admin/whoami")}


class World:
    """Tenant B's resources, and the principals."""

    def __init__(self, gw: Gateway):
        self.gw = gw
        self.operator = Admin(gw.admin_url, ADMIN_TOKEN)
        self.alice = member_token(self.operator, "acme", "alice")
        self.bob = member_token(self.operator, "beta", "bob")
        self.bob_token_id = self.bob.ok("GET", "/admin/whoami")["token_id"]
        created = self.bob.ok("POST", "/admin/keys", json={"app": "web"})
        self.key_id, self.key = created["record"]["id"], created["key"]
        self.bob.ok("POST", "/admin/services", json={"tenant": "beta", "name": "beta-svc", "approval": True})
        version = {"kind": "model", "model_group": "gpt-4o-mini"}
        self.bob.ok("POST", "/admin/services/beta-svc/versions", json=version)
        self.bob.ok("POST", "/admin/services/beta-svc/versions/1/publish")
        self.subscription_id = self.bob.ok(
            "POST", "/admin/subscriptions", json={"service": "beta-svc", "app": "web"}
        )["id"]
        limit = {"kind": "requests", "amount": 100, "period_s": 60}
        self.bob.ok("PUT", "/admin/limits/tenant/beta", json=[limit])
        # A call of B's, so the call log and stats have something of B's to leak.
        auth = {"Authorization": f"Bearer {self.key}"}
        assert httpx.get(gw.base_url + "/v1/models", headers=auth).status_code == 200

    def path_values(self, path: str) -> dict[str, str]:
        upstream = path.startswith("/admin/upstream-keys")
        return {
            "tenant": "beta",
            "user": "bob",
            "service": "beta-svc",
            "version": "1",
            "key_id": "mock-key-1" if upstream else self.key_id,
            "provider": "mock",
            "token_id": self.bob_token_id,
            "subscription_id": str(self.subscription_id),
            "scope": "tenant",
            "subject": "beta",
            "action": _action(path),
        }


def _action(path: str) -> str:
    if path.startswith("/admin/upstream-keys"):
        return "disable"
    if path.startswith("/admin/subscriptions"):
        return "revoke"
    return "retire"


# Request bodies aimed at B, by field name; fields not named here are left out.
BODY_VALUES: dict[str, Any] = {
    "tenant": "beta",
    "app": "web",
    "service": "beta-svc",
    "name": "beta-extra",
    "user": "mallory",
    "role": "owner",
    "kind": "model",
    "model_group": "gpt-4o-mini",
    "ttl_s": 60,
    "overlap_s": 0,
    "reason": "hostile",
}


def body_for(operation: dict[str, Any], components: dict[str, Any]) -> Any:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return None
    schema = _resolve(content["schema"], components)
    if schema.get("type") == "array":
        return [{"kind": "requests", "amount": 1, "period_s": 1}]
    return {k: v for k, v in BODY_VALUES.items() if k in schema.get("properties", {})}


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return _resolve(components[ref.rsplit("/", 1)[1]], components) if ref else schema


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    gw = Gateway(tmp_path_factory.mktemp("isolation"), TENANCY_YAML)
    gw.start()
    yield World(gw)
    assert gw.stop() == 0


def operations(gw: Gateway) -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    document = httpx.get(gw.admin_url + "/admin/openapi.json").json()
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            if operation.get("security"):
                yield method.upper(), path, operation, document["components"]["schemas"]


def test_tenant_a_cannot_read_or_change_tenant_b(world: World) -> None:
    tried = []
    for method, path, operation, components in operations(world.gw):
        if (method, path) in SHARED:
            continue
        values = world.path_values(path)
        url = re.sub(r"\{(\w+)\}", lambda m, v=values: v[m.group(1)], path)
        params = {p["name"]: "beta" for p in operation.get("parameters", []) if p["name"] == "tenant"}
        body = body_for(operation, components)
        if url == path and not params and body is None:
            continue  # nothing here names B: a listing, read below
        response = world.alice(method, url, params=params, json=body)
        tried.append((method, path))
        assert response.status_code in (403, 404), (method, url, params, body, response.text)
        assert "bob" not in response.text and world.key_id not in response.text, (method, url)
    assert len(tried) >= 25  # the document lists every endpoint; a short list means it broke

    # Listings without a tenant show A's own things only.
    for method, path, _, _ in operations(world.gw):
        if method != "GET" or "{" in path or (method, path) in SHARED:
            continue
        params = {"by": "tenant"} if path == "/admin/stats/top" else {}  # its one required param
        response = world.alice("GET", path, params=params)
        assert response.status_code in (200, 403), (path, response.text)
        if path == "/admin/audit":  # A's own refused attempts name B's paths; all are A's
            assert {e["tenant"] for e in response.json()} == {"acme"}
        else:
            assert "beta" not in response.text, (path, response.text)

    # Nothing of B's changed: its token, key, service, subscription, limits and provider keys.
    assert world.bob.ok("GET", "/admin/whoami")["tenant"] == "beta"
    keys = world.bob.ok("GET", "/admin/keys")
    assert [(k["id"], k["revoked_at"], k["expires_at"]) for k in keys] == [(world.key_id, None, None)]
    service = world.bob.ok("GET", "/admin/services/beta-svc")
    assert [v["state"] for v in service["versions"]] == ["published"]
    assert [s["state"] for s in world.bob.ok("GET", "/admin/subscriptions")] == ["approved"]
    assert [(m["user"], m["role"]) for m in world.bob.ok("GET", "/admin/tenants/beta/members")] == [
        ("bob", "owner")
    ]
    assert [r["amount"] for r in world.bob.ok("GET", "/admin/limits")] == [100]
    states = {k["key_id"]: k["state"] for k in world.operator.ok("GET", "/admin/upstream-keys")}
    assert set(states.values()) == {"healthy"}
    # And A's attempts are in the audit log, under A's name.
    refused = [e for e in world.operator.ok("GET", "/admin/audit?limit=1000") if e["actor"] == "alice"]
    assert sum(1 for e in refused if e["status"] == 403) >= 20
