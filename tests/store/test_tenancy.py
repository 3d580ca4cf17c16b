"""Tenancy in the store, held the same on both backends: members, admin tokens, the audit log,
services with their lifecycle, subscriptions, rotated and temporary keys."""

from __future__ import annotations

import time

import pytest

from gateway.store import Conflict, NotFound, Store
from gateway.store.records import Allowed, BudgetRule
from gateway.store.tenancy_records import NewService, NewVersion, PromptSpec


@pytest.fixture
def store(any_store: Store) -> Store:
    any_store.ensure_app("acme", "tools", ["*"])
    any_store.ensure_app("beta", "web", [])
    return any_store


def test_members_hold_one_role_per_tenant(store):
    store.set_member("acme", "ann", "developer")
    store.set_member("acme", "ann", "owner")  # a new role replaces the old
    store.set_member("acme", "bob", "viewer")
    assert [(m.user, m.role) for m in store.list_members("acme")] == [("ann", "owner"), ("bob", "viewer")]
    assert store.member("beta", "ann") is None
    store.remove_member("acme", "bob")
    with pytest.raises(NotFound, match="'bob' is not a member"):
        store.remove_member("acme", "bob")
    with pytest.raises(NotFound, match="no tenant"):
        store.set_member("nowhere", "ann", "owner")


def test_admin_tokens_are_found_by_their_secret_until_revoked_or_expired(store):
    token, secret = store.create_admin_token("ann", "acme")
    assert secret.startswith("aigw-admin-") and secret.startswith(token.prefix)
    assert store.admin_token_by_secret(secret) == token
    assert store.admin_token_by_secret(secret + "x") is None
    _, expired = store.create_admin_token("ann", "acme", expires_at=time.time() - 1)
    assert store.admin_token_by_secret(expired) is None
    operator, _ = store.create_admin_token("root", None)
    assert operator.tenant is None
    assert [t.user for t in store.list_admin_tokens("acme")] == ["ann", "ann"]
    assert len(store.list_admin_tokens()) == 3
    assert store.revoke_admin_token(token.id).revoked_at is not None
    assert store.admin_token_by_secret(secret) is None


def test_the_audit_log_pages_newest_first_per_tenant(store):
    for i in range(5):
        store.audit("ann", "tok_1", "acme" if i % 2 == 0 else "beta", "GET", f"/admin/{i}", 200, "127.0.0.1")
    acme = store.list_audit("acme")
    assert [e.path for e in acme] == ["/admin/4", "/admin/2", "/admin/0"]
    assert [e.path for e in store.list_audit(None, before=acme[0].id, limit=2)] == ["/admin/3", "/admin/2"]


def test_a_service_moves_through_its_lifecycle_and_is_served_when_published(store):
    generation = store.generation()
    store.create_service(NewService(tenant="acme", name="summarize", description="Summaries", approval=True))
    with pytest.raises(Conflict, match="exists already"):
        store.create_service(NewService(tenant="beta", name="summarize"))
    prompt = PromptSpec(template="Summarize {{text}}")
    v1 = store.add_version("summarize", NewVersion(kind="prompt", model_group="chat", prompt=prompt))
    assert (v1.version, v1.state, v1.prompt) == (1, "draft", prompt)
    assert store.snapshot().services == []  # drafts are not served
    store.transition("summarize", 1, "publish", None)
    with pytest.raises(Conflict, match="cannot publish version 1"):
        store.transition("summarize", 1, "publish", None)
    sunset = time.time() + 86400
    deprecated = store.transition("summarize", 1, "deprecate", sunset)
    assert deprecated.state == "deprecated" and deprecated.deprecated_at is not None
    assert deprecated.sunset_at == sunset
    [served] = store.snapshot().services
    assert (served.service, served.tenant, served.state, served.spec.prompt) == (
        "summarize",
        "acme",
        "deprecated",
        prompt,
    )
    assert store.generation() > generation
    assert [s.name for s in store.list_services("beta")] == []
    with pytest.raises(NotFound):
        store.add_version("nope", NewVersion(kind="model", model_group="chat"))


def test_subscriptions_from_other_tenants_wait_for_approval(store):
    store.create_service(NewService(tenant="acme", name="summarize", approval=True))
    store.add_version("summarize", NewVersion(kind="model", model_group="chat"))
    with pytest.raises(Conflict, match="no published version"):
        store.subscribe("summarize", "web", "beta")
    store.transition("summarize", 1, "publish", None)
    own = store.subscribe("summarize", "tools", None)
    assert own.state == "approved"  # the service's own tenant needs no approval
    pending = store.subscribe("summarize", "web", "beta")
    assert (pending.state, pending.tenant, pending.service_tenant) == ("pending", "beta", "acme")
    rejected = store.decide(pending.id, "rejected", "not yet", "ann")
    assert (rejected.state, rejected.reason, rejected.decided_by) == ("rejected", "not yet", "ann")
    with pytest.raises(Conflict, match="cannot become rejected"):
        store.decide(pending.id, "rejected", "", "ann")
    again = store.subscribe("summarize", "web", "beta")  # a rejected one may ask again
    assert (again.id, again.state, again.reason) == (pending.id, "pending", "")
    store.decide(pending.id, "approved", "", "ann")
    assert [(g.tenant, g.app, g.state) for g in store.snapshot().grants] == [
        ("acme", "tools", "approved"),
        ("beta", "web", "approved"),
    ]
    assert [s.app for s in store.list_subscriptions("beta")] == ["web"]
    assert len(store.list_subscriptions("acme")) == 2  # its own app's, and those to its service
    with pytest.raises(NotFound):
        store.subscription(10_000)


def test_a_rotated_key_keeps_working_for_its_overlap_and_temporary_keys_carry_caps(store):
    old, _ = store.create_key("tools", name="ci")
    new, secret = store.rotate_key(old.id, overlap_s=60)
    assert (new.app, new.name) == ("tools", "ci") and secret.startswith("aigw-")
    rotated = store.get_key(old.id)
    assert rotated.expires_at is not None and rotated.expires_at <= time.time() + 60
    # A second rotation never extends the first overlap.
    store.rotate_key(old.id, overlap_s=3600)
    assert store.get_key(old.id).expires_at == rotated.expires_at
    temp, _ = store.create_key(
        "web",
        "beta",
        temporary=True,
        expires_at=time.time() + 600,
        max_requests=10,
        max_tokens=5000,
        allowed=Allowed(models=["chat"], networks=["10.0.0.0/8"]),
    )
    assert (temp.temporary, temp.max_requests, temp.max_tokens) == (True, 10, 5000)
    assert temp.allowed == Allowed(models=["chat"], networks=["10.0.0.0/8"])
    with pytest.raises(Conflict, match="temporary"):
        store.rotate_key(temp.id, 60)
    caps = store.list_budgets("key", temp.id)
    assert sorted((b.kind, b.period, b.amount) for b in caps) == [
        ("requests", "lifetime", 10),
        ("tokens", "lifetime", 5000),
    ]
    active = {k.id: k for k in store.snapshot().keys}
    assert active[temp.id].allowed == temp.allowed and active[temp.id].temporary


def test_budgets_keep_their_id_when_the_amount_changes(store):
    first = store.set_budgets("tenant", "acme", [BudgetRule(kind="tokens", amount=1000, period="day")])
    generation = store.generation()
    assert (
        store.set_budgets("tenant", "acme", [BudgetRule(kind="tokens", amount=1000, period="day")]) == first
    )
    assert store.generation() == generation
    more = store.set_budgets(
        "tenant",
        "acme",
        [
            BudgetRule(kind="tokens", amount=2000, period="day"),
            BudgetRule(kind="cost", amount=5, period="month"),
        ],
    )
    assert [(b.id == first[0].id, b.kind, b.amount) for b in more if b.kind == "tokens"] == [
        (True, "tokens", 2000)
    ]
    assert [b.kind for b in store.set_budgets("tenant", "acme", [])] == []
    with pytest.raises(ValueError, match="at most one budget"):
        store.set_budgets("tenant", "acme", [BudgetRule(kind="tokens", amount=1, period="day")] * 2)
