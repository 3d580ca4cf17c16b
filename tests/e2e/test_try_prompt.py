"""Trying a prompt API from the admin API: the call goes through the data plane as the app, with a
one-use key revoked after, so the subscription check, limits and the call log apply as for any
caller; whoever may not create the app's keys is refused; a draft is not served."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.cli.conftest import admin_cli

from .conftest import ADMIN_TOKEN, TENANCY_YAML, Admin, Gateway, member_token, until

PROMPT = {
    "system": "Be brief.",
    "template": "Summarize in {{words}} words: {{text}}",
    "variables": [{"name": "text", "max_length": 200}, {"name": "words", "type": "integer"}],
}
STORY = {"text": "the long story", "words": 3}


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gw = Gateway(tmp_path_factory.mktemp("try"), TENANCY_YAML)
    gw.start()
    yield gw
    assert gw.stop() == 0


@pytest.fixture(scope="module")
def people(gw: Gateway) -> dict[str, Admin]:
    """acme's owner and viewer, beta's owner; acme's `summarize` (approval needed) with v1
    published and v2 a draft."""
    op = Admin(gw.admin_url, ADMIN_TOKEN)
    alice = member_token(op, "acme", "alice", "owner")
    victor = member_token(op, "acme", "victor", "viewer")
    bob = member_token(op, "beta", "bob", "owner")
    service = {"tenant": "acme", "name": "summarize", "approval": True}
    alice.ok("POST", "/admin/services", json=service)
    for _ in range(2):
        alice.ok(
            "POST",
            "/admin/services/summarize/versions",
            json={"kind": "prompt", "model_group": "gpt-4o-mini", "prompt": PROMPT},
        )
    alice.ok("POST", "/admin/services/summarize/versions/1/publish")
    return {"op": op, "alice": alice, "victor": victor, "bob": bob}


def try_call(who: Admin, version: int, app: str, tenant: str | None = None, **variables: Any) -> Any:
    body = {"app": app, "tenant": tenant, "variables": variables or STORY}
    return who("POST", f"/admin/services/summarize/versions/{version}/try", json=body)


def logged(gw: Gateway, request_id: str) -> dict[str, Any]:
    """The call's record, once the batched writer has stored it."""

    def find() -> dict[str, Any] | None:
        calls = Admin(gw.admin_url, ADMIN_TOKEN).ok("GET", "/admin/calls", params={"request_id": request_id})
        return calls["calls"][0] if calls["calls"] else None

    return until(find, f"call {request_id} in the call log")  # type: ignore[no-any-return]


def key_record(people: dict[str, Admin], tenant: str, app: str, key_id: str) -> dict[str, Any]:
    keys = people["op"].ok("GET", "/admin/keys", params={"tenant": tenant, "app": app})
    return next(k for k in keys if k["id"] == key_id)


def test_a_try_calls_the_model_as_the_app_with_a_one_use_key(gw: Gateway, people: dict[str, Admin]):
    answer = try_call(people["alice"], 1, "tools")
    assert answer.status_code == 200, answer.text
    result = answer.json()
    # The mock provider echoes the last message: the version's template, filled in.
    assert result["status"] == 200
    assert result["answer"]["output"] == "Mock reply: Summarize in 3 words: the long story"
    assert result["answer"]["service"] == "summarize" and result["answer"]["version"] == 1

    call = logged(gw, result["request_id"])
    assert (call["tenant"], call["app"], call["key_id"]) == ("acme", "tools", result["key_id"])
    assert call["status"] == 200 and call["model"] == "summarize/v1" and call["total_tokens"] > 0

    key = key_record(people, "acme", "tools", result["key_id"])
    assert key["revoked_at"] is not None, "the one-use key is revoked after the call"
    assert key["temporary"] and key["max_requests"] == 1
    assert key["allowed"] == {"services": ["summarize"], "models": [], "networks": ["127.0.0.1/32"]}
    assert "alice" in key["name"]


def test_the_subscription_check_applies_to_another_tenants_app(gw: Gateway, people: dict[str, Admin]):
    bob, alice = people["bob"], people["alice"]
    subscription = bob.ok("POST", "/admin/subscriptions", json={"service": "summarize", "app": "web"})
    pending = try_call(bob, 1, "web").json()
    assert pending["status"] == 403
    assert pending["answer"]["error"]["code"] == "subscription_required"
    assert "pending approval" in pending["answer"]["error"]["message"]
    assert logged(gw, pending["request_id"])["error_code"] == "subscription_required"

    alice.ok("POST", f"/admin/subscriptions/{subscription['id']}/approve", json={"reason": "ok"})
    served = try_call(bob, 1, "web").json()
    assert served["status"] == 200, served
    assert served["answer"]["output"].startswith("Mock reply: Summarize in 3 words")


def test_limits_apply_as_for_any_caller(gw: Gateway, people: dict[str, Admin]):
    op = people["op"]
    op.ok("POST", "/admin/apps", json={"tenant": "acme", "name": "limited", "models": ["*"]})
    one_an_hour = [{"kind": "requests", "amount": 1, "period_s": 3600}]
    op.ok("PUT", "/admin/limits/app/acme%2Flimited", json=one_an_hour)
    assert try_call(people["alice"], 1, "limited").json()["status"] == 200
    refused = try_call(people["alice"], 1, "limited").json()
    assert refused["status"] == 429 and refused["answer"]["error"]["code"] == "rate_limit_exceeded"
    assert "retry-after" in refused["headers"]
    assert logged(gw, refused["request_id"])["limit_scope"] == "app"


def test_only_who_may_create_the_apps_keys_may_try(gw: Gateway, people: dict[str, Admin]):
    before = len(people["op"].ok("GET", "/admin/keys", params={"tenant": "acme"}))
    viewer = try_call(people["victor"], 1, "tools")
    assert viewer.status_code == 403 and "developer" in viewer.json()["error"]["message"]
    other = try_call(people["bob"], 1, "tools", tenant="acme")
    assert other.status_code == 403 and other.json()["error"]["code"] == "forbidden"
    assert len(people["op"].ok("GET", "/admin/keys", params={"tenant": "acme"})) == before, "no key minted"


def test_a_draft_must_be_published_first(gw: Gateway, people: dict[str, Admin]):
    draft = try_call(people["alice"], 2, "tools")
    assert draft.status_code == 409 and draft.json()["error"]["code"] == "version_not_published"
    assert "publish it" in draft.json()["error"]["message"]
    # Another tenant hears what the data plane says to any caller: no such prompt API.
    unseen = try_call(people["bob"], 2, "web").json()
    assert unseen["status"] == 404
    streamed = try_call(people["alice"], 1, "tools", text="x", words=1, stream=True)
    assert streamed.status_code == 400 and "stream" in streamed.json()["error"]["message"]


def test_the_cli_tries_a_version(gw: Gateway, people: dict[str, Admin]):
    out = admin_cli(
        gw, "services", "try", "summarize", "1", "--app", "tools", "--tenant", "acme",
        "--var", "text=a tale", "--var", "words:=2",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["status"] == 200
    assert result["answer"]["output"] == "Mock reply: Summarize in 2 words: a tale"
    bad = admin_cli(gw, "services", "try", "summarize", "1", "--app", "tools", "--var", "words:=two")
    assert bad.returncode == 2 and "is not JSON" in bad.stderr
