"""The console end to end, in headless Chromium against a real gateway: sign-in, a provider key
refused upstream turning invalid on the key-pool page without a reload, an approval that lets an
app's next call through, a call's attempts in the logs, and what a viewer and another tenant's
owner can (not) see or do."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
import pytest
from playwright.sync_api import expect

from ..e2e.conftest import Admin, admitted_by_every_worker, until
from .conftest import Console, ConsoleGateway, Shots

VIEWS = ["overview", "keys", "logs", "team", "apps", "services", "catalog", "budgets"]


def consumer_key(gw: ConsoleGateway, tenant: str, app: str) -> str:
    key = gw.operator.ok("POST", "/admin/keys", json={"app": app, "tenant": tenant})["key"]
    admitted_by_every_worker(gw, key)
    return str(key)


_clients: list[openai.OpenAI] = []


def sdk(gw: ConsoleGateway, key: str) -> openai.OpenAI:
    client = openai.OpenAI(base_url=gw.base_url + "/v1", api_key=key, max_retries=0)
    _clients.append(client)
    return client


@pytest.fixture(scope="module", autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _clients:
        _clients.pop().close()


def ask(client: openai.OpenAI, model: str = "gpt-4o-mini") -> Any:
    return client.chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": "Hello there"}]
    )


@pytest.fixture(scope="module")
def acme_key(console_gateway: ConsoleGateway) -> str:
    key = consumer_key(console_gateway, "acme", "tools")
    client = sdk(console_gateway, key)
    for _ in range(12):
        assert ask(client).http_response.status_code == 200
    return key


@pytest.fixture(scope="module")
def assist(console_gateway: ConsoleGateway) -> str:
    """acme's model-route service `assist`, published, that subscribers need approval for."""
    op = console_gateway.operator
    op.ok(
        "POST",
        "/admin/services",
        json={"tenant": "acme", "name": "assist", "description": "Chat", "approval": True},
    )
    op.ok("POST", "/admin/services/assist/versions", json={"kind": "model", "model_group": "gpt-4o-mini"})
    op.ok("POST", "/admin/services/assist/versions/1/publish")
    op.ok("PUT", "/admin/budgets/tenant/acme", json=[{"kind": "requests", "amount": 1000, "period": "day"}])
    op.ok("PUT", "/admin/limits/app/acme%2Ftools", json=[{"kind": "requests", "amount": 600, "period_s": 60}])
    return "assist"


def test_sign_in_and_every_page(
    console: Callable[..., Console], acme_key: str, assist: str, shots: Shots
) -> None:
    tab = console()
    page = tab.page
    page.goto(tab.url)
    shots.take(page, "sign-in")
    page.get_by_label("Admin token").fill("not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid")

    tab.sign_in("test-admin-token")
    expect(page.locator("#whoami")).to_contain_text("operator")
    # The overview counts the calls just made, and charts them.
    expect(page.locator(".card").first).to_contain_text(re.compile(r"Requests\s*\d+"))
    expect(page.locator("figure svg.chart")).to_have_count(4)
    # The admin API answers for its own node: the panel says whose health it shows.
    health = page.get_by_role("region", name="Health of this node")
    expect(health).to_contain_text("This node only")
    expect(health.locator("dd").first).to_have_text("ok")
    page.select_option("#tenant-scope", "acme")
    tab.shown("overview")
    for view in VIEWS:
        tab.open(view)
        expect(page.locator("h1")).to_be_visible()
        shots.take(page, view)
    # The token lives in this tab's sessionStorage, and signing out forgets it.
    assert page.evaluate("sessionStorage.getItem('aigw.console.token')") == "test-admin-token"
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Admin token")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('aigw.console.token')") is None


def test_a_key_the_provider_revokes_turns_invalid_on_the_page_without_a_reload(
    console: Callable[..., Console], console_gateway: ConsoleGateway, acme_key: str, shots: Shots
) -> None:
    gw = console_gateway
    tab = console("test-admin-token")
    page = tab.open("keys")
    row = page.locator('tr[data-key="upstream/key-b"]')
    expect(row).to_have_attribute("data-state", "healthy")
    page.evaluate("window.notReloaded = true")

    httpx.post(gw.upstream + "/_mock/keys/key-b", json={"state": "revoked"}).raise_for_status()
    client = sdk(gw, acme_key)

    def refused() -> bool:
        # Every call succeeds (aigw moves to key-a); one of them finds key-b refused.
        assert ask(client).http_response.status_code == 200
        return any(
            k["key_id"] == "key-b" and k["state"] == "invalid"
            for k in gw.operator.ok("GET", "/admin/upstream-keys")
        )

    until(refused, "key-b refused upstream")
    expect(row).to_have_attribute("data-state", "invalid")
    expect(row.locator(".badge")).to_have_text("invalid")
    expect(row).to_contain_text("invalid")  # the event, in the row's recent events
    assert page.evaluate("window.notReloaded") is True
    shots.take(page, "keys-invalid")

    # The operator restores it from the page once the provider takes it again.
    httpx.post(gw.upstream + "/_mock/keys/key-b", json={"state": "ok"}).raise_for_status()
    row.get_by_role("button", name="Reset upstream/key-b").click()
    expect(row).to_have_attribute("data-state", "healthy")
    row.get_by_role("button", name="Disable upstream/key-b").click()
    expect(row).to_have_attribute("data-state", "disabled")
    row.get_by_role("button", name="Enable upstream/key-b").click()
    expect(row).to_have_attribute("data-state", "healthy")


def test_approving_a_pending_subscription_lets_the_apps_next_call_through(
    console: Callable[..., Console],
    console_gateway: ConsoleGateway,
    tokens: dict[str, str],
    assist: str,
    shots: Shots,
) -> None:
    gw = console_gateway
    web = sdk(gw, consumer_key(gw, "beta", "web"))
    # beta's owner subscribes its app from the catalog; acme must approve.
    bob = console(tokens["bob"])
    page = bob.open("catalog")
    page.get_by_role("article", name="Service assist").get_by_role("button", name="Subscribe").click()
    bob.shown("catalog")
    row = page.get_by_role("region", name="Subscriptions").get_by_role("row").filter(has_text="beta/web")
    expect(row).to_contain_text("pending")
    until(lambda: "pending approval" in _refusal(web, "assist"), "the app refused: pending approval")

    alice = console(tokens["alice"])
    page = alice.open("catalog")
    queued = page.get_by_role("region", name="Approval queue").get_by_role("row").filter(has_text="beta/web")
    expect(queued).to_have_count(1)
    shots.take(page, "catalog-approval")
    queued.get_by_label("Reason for beta/web").fill("welcome aboard")
    queued.get_by_role("button", name="Approve").click()
    decided = page.get_by_role("region", name="Subscriptions").get_by_role("row").filter(has_text="beta/web")
    expect(decided).to_contain_text("approved")
    expect(decided).to_contain_text("welcome aboard")

    # The app's next call succeeds once the workers have the approval (within a second).
    answered = until(lambda: _served(web, "assist"), "the approved subscription served")
    assert answered.choices[0].message.content


def _refusal(client: openai.OpenAI, model: str) -> str:
    try:
        ask(client, model)
    except openai.PermissionDeniedError as exc:
        return str(exc)
    return ""


def _served(client: openai.OpenAI, model: str) -> Any:
    try:
        return ask(client, model).parse()
    except openai.PermissionDeniedError:
        return None


def test_a_calls_detail_shows_every_attempt(
    console: Callable[..., Console], console_gateway: ConsoleGateway, acme_key: str, shots: Shots
) -> None:
    gw = console_gateway
    client = sdk(gw, acme_key)

    def refused() -> bool:
        # `flaky` has a key its provider refuses: a call that tries it first moves on to `good`.
        assert ask(client, "flaky-chat").http_response.status_code == 200
        states = gw.operator.ok("GET", "/admin/upstream-keys")
        return any(k["key_id"] == "refused" and k["state"] == "invalid" for k in states)

    def logged() -> str | None:
        # Records reach the call log in batches, a moment after the answer.
        calls = gw.operator.ok("GET", "/admin/calls", params={"model": "flaky-chat"})["calls"]
        return next((c["request_id"] for c in calls if len(c["attempts"]) == 2), None)

    until(refused, "the refused key found out")
    request_id = until(logged, "the call that moved from the refused key to the good one, logged")
    tab = console("test-admin-token")
    page = tab.open("logs")
    # Free text: every word somewhere in a call (here its model and its provider key).
    page.get_by_label("Search").fill("FLAKY-chat good")
    page.get_by_role("button", name="Search").click()
    tab.shown("logs")
    assert "q=FLAKY-chat+good" in page.url
    rows = page.locator("tbody tr")
    expect(rows.first).to_be_visible()
    for model in rows.locator("td:nth-child(3)").all_inner_texts():
        assert model == "flaky-chat"
    expect(page.get_by_role("link", name=f"Detail of {request_id}")).to_be_visible()
    # A request id is one of the words it finds.
    page.get_by_label("Search").fill(request_id)
    page.get_by_role("button", name="Search").click()
    tab.shown("logs")
    expect(rows).to_have_count(1)
    page.get_by_label("Search").fill("flaky-chat no-such-word")
    page.get_by_role("button", name="Search").click()
    tab.shown("logs")
    expect(page.locator("main")).to_contain_text("No call matches these filters.")
    page.go_back()
    tab.shown("logs")
    page.get_by_role("link", name=f"Detail of {request_id}").click()
    tab.shown("logs")
    attempts = page.get_by_role("region", name="Attempts (2)").locator("tbody tr")
    expect(attempts).to_have_count(2)
    expect(attempts.nth(0)).to_contain_text("flaky/refused")
    expect(attempts.nth(0)).to_contain_text("invalid")
    expect(attempts.nth(0)).to_contain_text("moved on to the next key")
    expect(attempts.nth(1)).to_contain_text("flaky/good")
    expect(attempts.nth(1)).to_contain_text("ok")
    expect(page.get_by_role("region", name="Captured bodies")).to_contain_text("Hello there")
    expect(page.get_by_role("region", name="Tokens and cost")).to_contain_text("Total tokens")
    shots.take(page, "logs-detail")


def test_a_viewer_sees_no_control_the_role_forbids(
    console: Callable[..., Console], tokens: dict[str, str], acme_key: str, assist: str, shots: Shots
) -> None:
    tab = console(tokens["victor"])
    page = tab.page
    expect(page.locator("#whoami")).to_contain_text("(viewer)")
    expect(page.locator("#nav")).not_to_contain_text("Key pools")
    page = tab.open("apps")
    # Node-wide pages are not there for a tenant token, even by their address.
    page.evaluate("location.hash = '#/keys'")
    tab.shown("overview")

    page = tab.open("apps")
    expect(page.locator("tbody tr").first).to_be_visible()
    for forbidden in ("Create key", "Create temporary key", "Create app", "Revoke", "Rotate"):
        expect(page.get_by_role("button", name=forbidden)).to_have_count(0)
    page = tab.open("services")
    expect(page.get_by_role("region", name="Service assist")).to_be_visible()
    for forbidden in ("Publish", "Deprecate", "Retire", "Add draft version", "Create service", "Try it"):
        expect(page.get_by_role("button", name=forbidden)).to_have_count(0)
    expect(page.get_by_role("region", name="Try it")).to_have_count(0)
    page = tab.open("catalog")
    for forbidden in ("Subscribe", "Approve", "Reject"):
        expect(page.get_by_role("button", name=forbidden)).to_have_count(0)
    page = tab.open("budgets")
    expect(page.get_by_role("region", name="Budgets")).to_contain_text("tenant acme")
    for forbidden in ("Edit", "Save"):
        expect(page.get_by_role("button", name=forbidden)).to_have_count(0)
    page = tab.open("team")
    expect(page.get_by_role("region", name="Members of acme")).to_contain_text("victor")
    expect(page.get_by_role("button", name="Remove")).to_have_count(0)
    expect(page.get_by_role("button", name="Save member")).to_have_count(0)
    expect(page.get_by_role("region", name="Admin tokens")).to_have_count(0)
    shots.take(page, "team-viewer")


def test_a_tenants_owner_sees_nothing_of_another_tenant(
    console: Callable[..., Console], tokens: dict[str, str], acme_key: str, assist: str
) -> None:
    tab = console(tokens["bob"])
    page = tab.page
    expect(page.locator("#tenant-name")).to_have_text("beta")
    expect(page.locator("#tenant-scope")).to_have_count(0)
    # A scope left in the tab by someone else is ignored: a tenant token sees its own tenant only.
    page.evaluate("sessionStorage.setItem('aigw.console.tenant', 'acme')")
    page.reload()
    tab.shown("overview")
    for view in ("overview", "logs", "team", "apps", "services", "budgets"):
        tab.open(view)
        text = page.locator("main").inner_text()
        assert "acme" not in text and "tools" not in text, (view, text)
    # The catalog is every tenant's shop window: acme's published service is there, its apps
    # and its approval queue are not.
    page = tab.open("catalog")
    expect(page.get_by_role("article", name="Service assist")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("acme/tools")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)


SUMMARIZE = {
    "system": "Be brief.",
    "template": "Summarize in {{words}} words: {{text}}",
    "variables": [{"name": "text", "max_length": 200}, {"name": "words", "type": "integer"}],
}


def test_the_try_it_panel_calls_a_served_prompt_api_as_an_app(
    console: Callable[..., Console], console_gateway: ConsoleGateway, tokens: dict[str, str], shots: Shots
) -> None:
    gw = console_gateway
    alice = Admin(gw.admin_url, tokens["alice"])
    alice.ok("POST", "/admin/services", json={"tenant": "acme", "name": "summarize"})
    for _ in range(2):  # v1 published, v2 a draft (not served: nothing to try)
        version = {"kind": "prompt", "model_group": "gpt-4o-mini", "prompt": SUMMARIZE}
        alice.ok("POST", "/admin/services/summarize/versions", json=version)
    alice.ok("POST", "/admin/services/summarize/versions/1/publish")

    tab = console(tokens["alice"])
    page = tab.open("services")
    versions = page.get_by_role("region", name="Service summarize").locator("tbody tr")
    expect(versions.filter(has_text="draft").get_by_role("button", name="Try it")).to_have_count(0)
    versions.filter(has_text="published").get_by_role("button", name="Try it").click()
    panel = page.get_by_role("region", name="Try it")
    expect(panel.get_by_label("Version")).to_have_value("summarize/1")
    panel.get_by_label("Call as app").select_option("acme/tools")
    panel.get_by_label("text (string)").fill("the console's own story")
    panel.get_by_label("words (integer)").fill("4")
    panel.get_by_role("button", name="Call the model").click()
    # The mock provider echoes the last message: the version's template, filled in.
    filled = "Summarize in 4 words: the console's own story"
    expect(panel.locator("#try-output")).to_have_text(f"Mock reply: {filled}")
    expect(panel.locator("#try-result .badge")).to_have_text("200")
    shots.take(page, "services-try")

    link = panel.locator("#try-result a")
    request_id = link.inner_text()
    call = until(lambda: _logged(gw, request_id), "the tried call in the call log")
    assert (call["tenant"], call["app"], call["model"]) == ("acme", "tools", "summarize/v1")
    assert call["status"] == 200
    keys = alice.ok("GET", "/admin/keys", params={"app": "tools"})
    one_use = next(k for k in keys if k["id"] == call["key_id"])
    assert one_use["revoked_at"] is not None and one_use["max_requests"] == 1
    link.click()
    tab.shown("logs")
    expect(page.get_by_role("region", name="Call")).to_contain_text("summarize/v1")

    # What the data plane refuses, the panel shows as the app would get it: the operator tries
    # it as beta's app, which has not subscribed.
    operator = console("test-admin-token")
    page = operator.open("services")
    page.get_by_role("region", name="Service summarize").get_by_role("button", name="Try it").click()
    panel = page.get_by_role("region", name="Try it")
    panel.get_by_label("Call as app").select_option("beta/web")
    panel.get_by_label("text (string)").fill("a story")
    panel.get_by_label("words (integer)").fill("2")
    panel.get_by_role("button", name="Call the model").click()
    expect(panel.locator("#try-result .badge")).to_have_text("403")
    expect(panel.locator("#try-result")).to_contain_text("subscription_required")
    expect(panel.locator("#try-output")).to_have_count(0)


def _logged(gw: ConsoleGateway, request_id: str) -> dict[str, Any] | None:
    calls = gw.operator.ok("GET", "/admin/calls", params={"request_id": request_id})["calls"]
    return calls[0] if calls else None
