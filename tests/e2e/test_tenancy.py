"""Tenancy end to end (docs/tenancy.md): tenant-scoped admin tokens, a service published by one
tenant and subscribed to by another's app with approval, a prompt API through its lifecycle, and
temporary keys — against a real 2-worker gateway, called through the official openai SDK."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import openai
import pytest

from .conftest import (
    ADMIN_TOKEN,
    TENANCY_YAML,
    Admin,
    Gateway,
    admitted_by_every_worker,
    member_token,
    until,
)


@pytest.fixture(scope="module")
def gw(tmp_path_factory) -> Iterator[Gateway]:
    gateway = Gateway(tmp_path_factory.mktemp("tenancy"), TENANCY_YAML)
    gateway.start()
    yield gateway
    assert gateway.stop() == 0


@pytest.fixture(scope="module")
def operator(gw: Gateway) -> Admin:
    return Admin(gw.admin_url, ADMIN_TOKEN)


@pytest.fixture(scope="module")
def alice(operator: Admin) -> Admin:
    return member_token(operator, "acme", "alice")


@pytest.fixture(scope="module")
def bob(operator: Admin) -> Admin:
    return member_token(operator, "beta", "bob")


@pytest.fixture(scope="module")
def web_key(bob: Admin) -> str:
    created = bob.ok("POST", "/admin/keys", json={"app": "web"})
    assert created["record"]["tenant"] == "beta"
    return str(created["key"])


def sdk(gw: Gateway, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.base_url + "/v1", api_key=key, max_retries=0)


def test_roles_limit_what_a_member_may_do(operator: Admin, alice: Admin) -> None:
    viewer = member_token(operator, "acme", "victor", "viewer")
    me = viewer.ok("GET", "/admin/whoami")
    assert (me["user"], me["tenant"], me["role"]) == ("victor", "acme", "viewer")
    assert [a["name"] for a in viewer.ok("GET", "/admin/apps")] == ["tools"]
    refused = viewer("POST", "/admin/keys", json={"app": "tools"})
    assert refused.status_code == 403 and "developer role" in refused.json()["error"]["message"]
    # A promotion applies on the next request: the token acts with the member's current role.
    alice.ok("PUT", "/admin/tenants/acme/members/victor", json={"role": "developer"})
    assert viewer("POST", "/admin/keys", json={"app": "tools"}).status_code == 201
    alice.ok("DELETE", "/admin/tenants/acme/members/victor")
    assert viewer("GET", "/admin/apps").status_code == 401
    # Every one of those requests is in the audit log, filed under acme, with who and from where.
    audit = alice.ok("GET", "/admin/audit")
    mine = [e for e in audit if e["actor"] == "victor"]
    assert {(e["method"], e["status"]) for e in mine} >= {("POST", 403), ("POST", 201), ("GET", 200)}
    assert all(e["tenant"] == "acme" and e["client"] == "127.0.0.1" for e in mine)


def test_subscription_approval_flow_through_the_openai_sdk(
    gw: Gateway, alice: Admin, bob: Admin, web_key: str
) -> None:
    alice.ok("POST", "/admin/services", json={"tenant": "acme", "name": "chatty", "approval": True})
    alice.ok("POST", "/admin/services/chatty/versions", json={"kind": "model", "model_group": "gpt-4o-mini"})
    alice.ok("POST", "/admin/services/chatty/versions/1/publish")
    listed = bob.ok("GET", "/admin/catalog")
    assert [(e["name"], e["tenant"], e["approval"]) for e in listed] == [("chatty", "acme", True)]

    client = sdk(gw, web_key)
    messages: Any = [{"role": "user", "content": "hello service"}]
    subscription = bob.ok("POST", "/admin/subscriptions", json={"service": "chatty", "app": "web"})
    assert subscription["state"] == "pending"
    # Each change is answered once every worker serves it: the next call sees it, on any worker.
    with pytest.raises(openai.PermissionDeniedError, match="pending approval by tenant 'acme'"):
        client.chat.completions.create(model="chatty", messages=messages)
    # Only the service's tenant decides: bob cannot approve his own subscription.
    assert bob("POST", f"/admin/subscriptions/{subscription['id']}/approve").status_code == 403
    alice.ok("POST", f"/admin/subscriptions/{subscription['id']}/approve", json={"reason": "ok"})

    completion = client.chat.completions.create(model="chatty", messages=messages)
    assert completion.choices[0].message.content == "Mock reply: hello service"
    assert "chatty" in [m.id for m in client.models.list()]

    alice.ok("POST", f"/admin/subscriptions/{subscription['id']}/revoke", json={"reason": "contract ended"})
    with pytest.raises(openai.PermissionDeniedError, match="to service 'chatty' was revoked: contract ended"):
        client.chat.completions.create(model="chatty", messages=messages)


def test_prompt_api_and_its_lifecycle(gw: Gateway, alice: Admin, bob: Admin, web_key: str) -> None:
    alice.ok("POST", "/admin/services", json={"tenant": "acme", "name": "summarize"})
    prompt = {
        "system": "You summarise.",
        "template": "Summarize in {{words}} words: {{text}}",
        "variables": [{"name": "text", "max_length": 200}, {"name": "words", "type": "integer"}],
        "streaming": True,
    }
    body = {"kind": "prompt", "model_group": "gpt-4o-mini", "prompt": prompt}
    alice.ok("POST", "/admin/services/summarize/versions", json=body)
    url = gw.base_url + "/apis/summarize/v1"
    auth = {"Authorization": f"Bearer {web_key}"}
    # A draft is not served.
    assert httpx.post(url, json={"text": "x", "words": 3}, headers=auth).status_code == 404
    alice.ok("POST", "/admin/services/summarize/versions/1/publish")
    bob.ok("POST", "/admin/subscriptions", json={"service": "summarize", "app": "web"})  # no approval

    ok = httpx.post(url, json={"text": "the long story", "words": 3}, headers=auth)
    assert ok.status_code == 200, ok.text
    assert ok.json()["output"] == "Mock reply: Summarize in 3 words: the long story"
    assert ok.json()["service"] == "summarize" and ok.json()["version"] == 1
    assert ok.json()["usage"]["total_tokens"] > 0
    assert "deprecation" not in ok.headers

    wrong = httpx.post(url, json={"text": "x", "words": "three"}, headers=auth)
    assert wrong.status_code == 400 and wrong.json()["error"]["param"] == "words"
    unknown = httpx.post(url, json={"text": "x", "words": 3, "tone": "dry"}, headers=auth)
    assert unknown.status_code == 400 and "Unknown variable 'tone'" in unknown.json()["error"]["message"]

    with httpx.stream("POST", url, json={"text": "abc", "words": 2, "stream": True}, headers=auth) as s:
        events = [line[6:] for line in s.iter_lines() if line.startswith("data: ")]
    assert events[-1].startswith('{"done":true')
    assert "".join(httpx.Response(200, content=e).json().get("delta", "") for e in events[:-1]) == (
        "Mock reply: Summarize in 2 words: abc"
    )

    sunset = 1893456000  # 2030-01-01
    alice.ok("POST", "/admin/services/summarize/versions/1/deprecate", json={"sunset_at": sunset})

    def call() -> httpx.Response:
        return httpx.post(url, json={"text": "a", "words": 1}, headers=auth)

    deprecated = call()
    assert deprecated.status_code == 200 and deprecated.headers["deprecation"].startswith("@")
    assert parsedate_to_datetime(deprecated.headers["sunset"]).timestamp() == sunset

    alice.ok("POST", "/admin/services/summarize/versions/1/retire")
    gone = call()
    assert gone.status_code == 410 and "retired" in gone.json()["error"]["message"]
    # Retired is final.
    assert alice("POST", "/admin/services/summarize/versions/1/publish").status_code == 409


def test_temporary_key_expires_with_a_message_saying_so(gw: Gateway, bob: Admin) -> None:
    bob.ok("PUT", "/admin/tenants/beta/members/bob", json={"role": "owner"})
    created = bob.ok("POST", "/admin/temporary-keys", json={"app": "web", "ttl_s": 1.5})
    assert created["record"]["temporary"] is True and created["record"]["expires_at"] is not None
    client = sdk(gw, created["key"])
    # Allowed model groups of `web` are none: /v1/models answers, so the key itself works.
    assert _lists(client)

    def expired() -> openai.AuthenticationError | None:
        try:
            client.models.list()
        except openai.AuthenticationError as exc:
            return exc
        return None

    refusal = until(expired, "401 after the TTL")
    assert refusal.code == "expired_api_key" and "temporary API key expired at" in refusal.message


def test_temporary_key_limited_to_a_network(gw: Gateway, bob: Admin) -> None:
    body = {"app": "web", "ttl_s": 600, "allowed": {"networks": ["10.0.0.0/8"]}}
    created = bob.ok("POST", "/admin/temporary-keys", json=body)
    auth = {"Authorization": f"Bearer {created['key']}"}
    response = httpx.get(gw.base_url + "/v1/models", headers=auth)
    assert response.status_code == 403 and response.json()["error"]["code"] == "network_not_allowed"
    bad = bob("POST", "/admin/temporary-keys", json={**body, "allowed": {"networks": ["nonsense"]}})
    assert bad.status_code == 400 and "networks[0]" in bad.json()["error"]["message"]


def test_rotation_keeps_the_old_key_for_the_overlap(gw: Gateway, bob: Admin, web_key: str) -> None:
    keys = bob.ok("GET", "/admin/keys")
    old = next(k for k in keys if not k["temporary"] and k["expires_at"] is None)
    rotated = bob.ok("POST", f"/admin/keys/{old['id']}/rotate", json={"overlap_s": 3600})
    assert rotated["record"]["app"] == "web" and rotated["key"] != web_key
    listed = {k["id"]: k for k in bob.ok("GET", "/admin/keys")}
    assert listed[old["id"]]["expires_at"] == pytest.approx(time.time() + 3600, abs=60)
    for key in (web_key, rotated["key"]):
        admitted_by_every_worker(gw, key, strict=True)  # both keys work during the overlap


def _lists(client: openai.OpenAI) -> bool:
    try:
        client.models.list()
    except openai.AuthenticationError:
        return False
    return True


def test_the_cli_drives_the_same_api(gw: Gateway, tmp_path) -> None:
    def aigw(token: str, *args: str) -> str:
        env = {**os.environ, "AIGW_ADMIN_TOKEN": token}
        command = [sys.executable, "-m", "gateway", *args, "--config", str(gw.config)]
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr
        return done.stdout

    aigw(ADMIN_TOKEN, "tenants", "create", "gamma")
    aigw(ADMIN_TOKEN, "members", "set", "gamma", "carol", "owner")
    carol = aigw(ADMIN_TOKEN, "tokens", "create", "--user", "carol", "--tenant", "gamma").strip()
    assert carol.startswith("aigw-admin-")
    aigw(carol, "services", "create", "haiku", "--tenant", "gamma", "--description", "Poems")
    spec = tmp_path / "haiku.json"
    spec.write_text('{"template": "A haiku about {{topic}}", "variables": [{"name": "topic"}]}')
    aigw(carol, "services", "add-version", "haiku", "--model-group", "gpt-4o-mini", "--prompt", str(spec))
    aigw(carol, "services", "publish", "haiku", "1")
    catalog = aigw(carol, "catalog", "list")
    assert any(line.split()[:2] == ["haiku", "gamma"] and "Poems" in line for line in catalog.splitlines())
    services = aigw(carol, "services", "list")
    assert "v1 published" in services and "acme" not in services
    # A tenant token cannot act for another tenant from the CLI either: one clear line, exit 1.
    env = {**os.environ, "AIGW_ADMIN_TOKEN": carol}
    refused = subprocess.run(
        [sys.executable, "-m", "gateway", "members", "list", "acme", "--config", str(gw.config)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert refused.returncode == 1
    expected = "aigw: the admin API answered 403: this token acts for tenant 'gamma' only"
    assert refused.stderr.strip() == expected
    audit = aigw(carol, "audit", "list")
    assert "carol" in audit and "/admin/services/haiku/versions/1/publish" in audit


def test_model_route_defaults_and_service_limits(gw: Gateway, alice: Admin, bob: Admin, web_key: str) -> None:
    alice.ok("POST", "/admin/services", json={"tenant": "acme", "name": "terse"})
    version = {"kind": "model", "model_group": "gpt-4o-mini", "defaults": {"max_tokens": 2}}
    alice.ok("POST", "/admin/services/terse/versions", json=version)
    alice.ok("POST", "/admin/services/terse/versions/1/publish")
    bob.ok("POST", "/admin/subscriptions", json={"service": "terse", "app": "web"})
    client = sdk(gw, web_key)
    messages = [{"role": "user", "content": "a longer question than two words"}]

    # The route's default max_tokens applies where the caller sets none (the mock cuts at it)...
    cut = client.chat.completions.create(model="terse/v1", messages=messages)  # type: ignore[arg-type]
    assert (cut.choices[0].message.content, cut.choices[0].finish_reason) == ("Mock reply:", "length")
    # ...and the caller's own value wins.
    full = client.chat.completions.create(model="terse", messages=messages, max_tokens=50)  # type: ignore[arg-type]
    assert full.choices[0].message.content == "Mock reply: a longer question than two words"

    # A service's limits are charged to every caller of the service, on top of their own.
    alice.ok("PUT", "/admin/limits/service/terse", json=[{"kind": "requests", "amount": 2, "period_s": 3600}])

    for _ in range(2):  # a burst of two, then the limit refuses, whichever worker answers
        client.chat.completions.create(model="terse", messages=messages)  # type: ignore[arg-type]
    with pytest.raises(openai.RateLimitError, match="service 'terse'"):
        client.chat.completions.create(model="terse", messages=messages)  # type: ignore[arg-type]
    assert bob("PUT", "/admin/limits/service/terse", json=[]).status_code == 403  # not bob's service


def test_temporary_key_caps_hold_across_workers(gw: Gateway, alice: Admin) -> None:
    body = {"app": "tools", "ttl_s": 600, "max_requests": 4}
    created = alice.ok("POST", "/admin/temporary-keys", json=body)
    assert created["record"]["max_requests"] == 4
    auth = {"Authorization": f"Bearer {created['key']}"}
    chat = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    admitted_by_every_worker(gw, created["key"], strict=True)
    # A fresh connection per call: the two workers share the cap through the node's region.
    statuses = [httpx.post(gw.base_url + "/v1/chat/completions", json=chat, headers=auth) for _ in range(7)]
    assert [r.status_code for r in statuses] == [200] * 4 + [401] * 3
    error = statuses[-1].json()["error"]
    assert error["code"] == "api_key_used_up" and "used up its 4 requests" in error["message"]

    tokens = alice.ok("POST", "/admin/temporary-keys", json={"app": "tools", "ttl_s": 600, "max_tokens": 30})
    client = sdk(gw, tokens["key"])
    admitted_by_every_worker(gw, tokens["key"], strict=True)
    used = 0
    with pytest.raises(openai.AuthenticationError) as spent:
        for _ in range(20):
            reply = client.chat.completions.create(model="gpt-4o-mini", messages=chat["messages"])  # type: ignore[arg-type]
            used += reply.usage.total_tokens if reply.usage else 0
    # Settled with real usage: the key stops once what it used reaches the cap, not before.
    assert used >= 30 and spent.value.code == "api_key_used_up"
