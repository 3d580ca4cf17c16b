"""The CLI against a real node: lists that show state, expiry and usage, provider keys managed
without curl, and the node's own view of itself."""

from __future__ import annotations

import calendar
import json
import time

from openai import OpenAI

from tests.e2e.conftest import Gateway

from .conftest import admin_cli, aigw

ISO = "%Y-%m-%dT%H:%M:%SZ"


def rows(table: str) -> list[dict[str, str]]:
    """A printed table as dicts (its cells hold no spaces, but for `a, b` lists)."""
    lines = table.splitlines()
    starts = [i for i, c in enumerate(lines[0]) if c != " " and (i == 0 or lines[0][i - 1] == " ")]
    names = lines[0].split()
    bounds = [*starts[1:], None]
    return [
        {n: line[a:b].strip() for n, a, b in zip(names, starts, bounds, strict=True)} for line in lines[1:]
    ]


def at(text: str) -> float:
    return calendar.timegm(time.strptime(text, ISO))


def is_iso(text: str) -> bool:
    try:
        time.strptime(text, ISO)
    except ValueError:
        return False
    return True


def test_status_and_whoami(gateway: Gateway):
    out = admin_cli(gateway, "status")
    assert out.returncode == 0, out.stderr
    assert f"at {gateway.admin_url}, ready, store ok, dataplane ok" in out.stdout
    me = json.loads(admin_cli(gateway, "whoami").stdout)
    assert (me["user"], me["tenant"], me["role"]) == ("operator", None, "operator")


def test_status_says_when_no_node_answers(gateway: Gateway):
    out = aigw("status", "--admin-url", "http://127.0.0.1:9")
    assert out.returncode == 1
    assert out.stderr.startswith("aigw: no node answers at http://127.0.0.1:9")


def test_keys_list_shows_rotated_and_temporary_keys_with_their_expiry(gateway: Gateway):
    created = aigw("keys", "create", "--app", "embed-only", "--config", str(gateway.config))
    old_id = created.stderr.split("created ")[1].split()[0]
    rotated = admin_cli(gateway, "keys", "rotate", old_id, "--overlap", "1h")
    assert rotated.returncode == 0, rotated.stderr
    temp = admin_cli(gateway, "keys", "temp", "--app", "embed-only", "--ttl", "15m", "--max-requests", "5")
    temp_id = temp.stderr.split("created ")[1].split(";")[0]
    listed = {r["id"]: r for r in rows(admin_cli(gateway, "keys", "list", "--app", "embed-only").stdout)}
    assert listed[old_id]["state"] == "rotated"
    assert 3500 < at(listed[old_id]["expires"]) - time.time() <= 3600
    assert listed[temp_id]["state"] == "temporary" and is_iso(listed[temp_id]["expires"])
    assert listed[temp_id]["caps"] == "5 requests"
    new = [r for i, r in listed.items() if i not in (old_id, temp_id)]
    assert [(r["state"], r["expires"]) for r in new] == [("active", "-")]


def test_tokens_list_shows_expiry(gateway: Gateway):
    made = admin_cli(gateway, "tokens", "create", "--user", "ci-bot", "--ttl", "30d")
    assert made.returncode == 0, made.stderr
    token_id = made.stderr.split("created ")[1].split(";")[0]
    listed = {r["id"]: r for r in rows(admin_cli(gateway, "tokens", "list").stdout)}
    assert is_iso(listed[token_id]["expires_at"]) and is_iso(listed[token_id]["created_at"])
    assert listed[token_id]["revoked_at"] == "-"


def test_budgets_list_shows_what_was_used_and_when_it_resets(gateway: Gateway):
    out = admin_cli(gateway, "budgets", "set", "app", "default/demo", "requests=1000/day")
    assert out.returncode == 0, out.stderr
    client = OpenAI(base_url=gateway.base_url + "/v1", api_key=gateway.keys["demo"], max_retries=0)
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    # The call reaches the call log within the writer's batch interval.
    for _ in range(600):
        (budget,) = rows(admin_cli(gateway, "budgets", "list", "--subject", "default/demo").stdout)
        if budget["used"] != "0 requests":
            break
    assert budget["budget"] == "1,000 requests per day"
    assert budget["used"] == "1 requests"
    # The next UTC midnight.
    assert budget["resets_at"].endswith("T00:00:00Z") and 0 < at(budget["resets_at"]) - time.time() <= 86400


def test_limits_and_tenants(gateway: Gateway):
    out = admin_cli(gateway, "limits", "set", "app", "default/demo", "requests=600/minute,burst=50")
    assert out.returncode == 0, out.stderr
    listed = rows(admin_cli(gateway, "limits", "list", "--scope", "app").stdout)
    assert [(r["subject"], r["limit"], r["burst"]) for r in listed] == [
        ("default/demo", "600 requests per minute", "50")
    ]
    bad = admin_cli(gateway, "limits", "set", "app", "default/demo", "requests=600/fortnight")
    assert bad.returncode == 2 and "expected KIND=AMOUNT/PER[,burst=N]" in bad.stderr
    assert [r["name"] for r in rows(admin_cli(gateway, "tenants", "list").stdout)] == ["default"]
    assert admin_cli(gateway, "limits", "set", "app", "default/demo").returncode == 0


def test_upstream_keys_list_disable_enable_reset(gateway: Gateway):
    def states() -> dict[str, str]:
        out = admin_cli(gateway, "upstream-keys", "list")
        assert out.returncode == 0, out.stderr
        return {r["provider/key"]: r["state"] for r in rows(out.stdout)}

    assert states() == {"mock/mock-key-1": "healthy", "mock/mock-key-2": "healthy"}
    out = admin_cli(gateway, "upstream-keys", "disable", "mock", "mock-key-1")
    assert (out.returncode, out.stdout) == (0, "mock/mock-key-1: disabled\n")
    assert states()["mock/mock-key-1"] == "disabled"
    assert (
        admin_cli(gateway, "upstream-keys", "enable", "mock", "mock-key-1").stdout
        == "mock/mock-key-1: healthy\n"
    )
    assert (
        admin_cli(gateway, "upstream-keys", "reset", "mock", "mock-key-2").stdout
        == "mock/mock-key-2: healthy\n"
    )
    assert states() == {"mock/mock-key-1": "healthy", "mock/mock-key-2": "healthy"}
    missing = admin_cli(gateway, "upstream-keys", "disable", "mock", "nope")
    assert missing.returncode == 1 and "404" in missing.stderr and "nope" in missing.stderr


def test_upstream_key_events_are_printed_once_each(gateway: Gateway):
    first = admin_cli(gateway, "upstream-keys", "events")
    assert first.returncode == 0, first.stderr
    after = first.stderr.split("--after ")[1].split()[0]
    assert admin_cli(gateway, "upstream-keys", "disable", "mock", "mock-key-2").returncode == 0
    try:
        # The node's watcher notes the transition within its tick: read until it is there.
        deadline = time.monotonic() + 10
        while (
            "disabled" not in (out := admin_cli(gateway, "upstream-keys", "events", "--after", after)).stdout
        ):
            assert time.monotonic() < deadline, out
        [line] = out.stdout.splitlines()
        assert line.split()[1:] == ["disabled", "mock/mock-key-2"] and is_iso(line.split()[0])
    finally:
        assert admin_cli(gateway, "upstream-keys", "enable", "mock", "mock-key-2").returncode == 0
