"""Budgets through a two-worker gateway, driven by the official SDKs: a daily token budget used up
mid-run by concurrent callers refuses the next call with its name and reset, its counter agrees
with the call log to the token, and a restarted node still refuses (counters seeded from the log).
A cost budget is charged what each call cost."""

import calendar
import json
import subprocess
import sys
import threading
import time

import anthropic
import httpx
import openai
import pytest

from .conftest import Gateway

TOKEN_BUDGET = 200
COST_BUDGET_USD = 0.00003  # about seven calls of gpt-4o-mini at the shipped price

YAML = f"""
model_groups:
  - name: gpt-4o-mini
    deployments: [{{provider: mock}}]
tenants:
  - name: default
    apps:
      - name: demo
        budgets: [{{tokens: {TOKEN_BUDGET}, per: day}}]
      - name: metered
        budgets: [{{cost_usd: 0.00003, per: day}}]
"""

MESSAGES = [{"role": "user", "content": "spend my budget"}]
CALLERS = 4


def client(gw: Gateway, key: str) -> openai.OpenAI:
    # A new connection per call, so the calls spread over both workers.
    return openai.OpenAI(
        base_url=gw.base_url + "/v1", api_key=key, max_retries=0, default_headers={"Connection": "close"}
    )


def next_midnight() -> int:
    t = time.gmtime()
    return calendar.timegm((t.tm_year, t.tm_mon, t.tm_mday, 0, 0, 0)) + 86400


def call_until_refused(gw: Gateway, key: str, used: list[int], refusals: list[openai.RateLimitError]) -> None:
    api = client(gw, key)
    while True:
        try:
            raw = api.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
        except openai.RateLimitError as exc:
            refusals.append(exc)
            return
        completion = raw.parse()
        assert completion.usage is not None
        used.append(completion.usage.total_tokens)


def budget_state(gw: Gateway, app: str) -> dict:
    [state] = gw.admin("GET", "/admin/budgets", params={"scope": "app", "subject": f"default/{app}"}).json()
    return state


def records(gw: Gateway) -> list[dict]:
    out = subprocess.run(
        [sys.executable, "-m", "gateway", "logs", "--config", str(gw.config), "--json", "--limit", "1000"],
        capture_output=True,
        text=True,
        check=True,
    )
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


@pytest.fixture
def gw(tmp_path):
    gw = Gateway(tmp_path, YAML, workers=2)
    gw.keys = {app: gw.new_key(app) for app in ("demo", "metered")}
    yield gw.start()
    gw.stop()


def test_a_token_budget_used_up_mid_run_refuses_the_next_call_and_survives_a_restart(gw, tmp_path):
    used: list[int] = []
    refusals: list[openai.RateLimitError] = []
    callers = [
        threading.Thread(target=call_until_refused, args=(gw, gw.keys["demo"], used, refusals))
        for _ in range(CALLERS)
    ]
    for t in callers:
        t.start()
    for t in callers:
        t.join(timeout=120)
    assert len(refusals) == CALLERS

    # A budget admits while it is not used up, so the calls in flight when it ran out complete.
    assert sum(used) >= TOKEN_BUDGET
    assert sum(used) - CALLERS * max(used) < TOKEN_BUDGET
    # Settled with each call's real usage, whichever worker served it: exact to the token.
    state = budget_state(gw, "demo")
    assert state["used"] == sum(used)
    reset = next_midnight()
    assert state["resets_at"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(reset))

    # The next call is refused, naming the budget and its reset, with Retry-After until then.
    with pytest.raises(openai.RateLimitError) as refused:
        client(gw, gw.keys["demo"]).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    body = refused.value.response.json()["error"]
    assert body["code"] == "budget_exceeded"
    assert body["message"] == (
        f"Daily token budget of app 'default/demo' ({TOKEN_BUDGET} tokens) is used up; "
        f"resets {state['resets_at']}."
    )
    retry_after = int(refused.value.response.headers["retry-after"])
    assert 0 < retry_after <= reset - time.time() + 1
    # Other apps' budgets are their own.
    client(gw, gw.keys["metered"]).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    # The Anthropic ingress refuses in Anthropic's format.
    claude = anthropic.Anthropic(base_url=gw.base_url, api_key=gw.keys["demo"], max_retries=0)
    with pytest.raises(anthropic.RateLimitError) as refused_messages:
        claude.messages.create(model="gpt-4o-mini", max_tokens=16, messages=MESSAGES)
    assert "Daily token budget of app 'default/demo'" in refused_messages.value.message

    assert gw.stop() == 0
    logged = [r for r in records(gw) if r["app"] == "demo"]
    assert sum(r["total_tokens"] for r in logged if r["status"] == 200) == sum(used)
    budget_refusals = [r for r in logged if r["error_code"] == "budget_exceeded"]
    assert len(budget_refusals) == CALLERS + 2
    assert {(r["status"], r["limit_scope"]) for r in budget_refusals} == {(429, "app")}

    # A new node on the same store starts its counters from the call log.
    again = Gateway(tmp_path, YAML, workers=2).start()
    try:
        assert budget_state(again, "demo")["used"] == sum(used)
        with pytest.raises(openai.RateLimitError, match="is used up"):
            client(again, gw.keys["demo"]).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    finally:
        assert again.stop() == 0


def test_a_cost_budget_is_charged_what_each_call_cost(gw):
    api = client(gw, gw.keys["metered"])
    calls = 0
    with pytest.raises(openai.RateLimitError) as refused:
        while calls < 100:
            api.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
            calls += 1
    assert 1 < calls < 100
    assert "Daily cost budget of app 'default/metered' ($0.00003) is used up" in str(refused.value)
    used = budget_state(gw, "metered")["used"]
    assert gw.stop() == 0
    costs = [r["cost"] for r in records(gw) if r["app"] == "metered" and r["status"] == 200]
    assert len(costs) == calls and all(c > 0 for c in costs)
    assert used == sum(round(c * 1_000_000) for c in costs)
    assert used >= COST_BUDGET_USD * 1_000_000 > used - max(costs) * 1_000_000 - 1


def test_budgets_are_set_and_read_through_the_admin_api(gw):
    r = gw.admin(
        "PUT", "/admin/budgets/app/default%2Fdemo", json=[{"kind": "requests", "amount": 0, "period": "day"}]
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_request"
    r = gw.admin("PUT", "/admin/budgets/app/default%2Fghost", json=[])
    assert r.status_code == 404
    r = gw.admin("PUT", "/admin/budgets/team/x", json=[])
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_scope"
    [before] = gw.admin("GET", "/admin/budgets", params={"scope": "app", "subject": "default/demo"}).json()
    r = gw.admin(
        "PUT",
        "/admin/budgets/app/default%2Fdemo",
        json=[
            {"kind": "tokens", "amount": 2 * TOKEN_BUDGET, "period": "day"},
            {"kind": "requests", "amount": 1, "period": "lifetime"},
        ],
    )
    assert r.status_code == 200
    states = {s["period"]: s for s in r.json()}
    # A new amount keeps the counter (its id); the lifetime cap is new and never resets.
    assert states["day"]["id"] == before["id"] and states["day"]["amount"] == 2 * TOKEN_BUDGET
    assert states["lifetime"]["resets_at"] is None
    # Every worker serves the new budgets once the answer came: one request, then the cap.
    api = client(gw, gw.keys["demo"])
    api.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    with pytest.raises(
        openai.RateLimitError, match=r"Lifetime request budget of app 'default/demo' \(1 requests\)"
    ):
        api.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert "openapi" in httpx.get(gw.admin_url + "/admin/openapi.json").text
    assert (
        "/admin/budgets/{scope}/{subject}" in httpx.get(gw.admin_url + "/admin/openapi.json").json()["paths"]
    )
