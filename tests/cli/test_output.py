"""`--output json|yaml` for scripts: every listing and status command has it, prints the admin
API's fields with times in ISO 8601 UTC, the same records in both formats, nothing secret, and
the exit codes the table gives."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import yaml
from openai import OpenAI

from gateway.cli.main import parser
from tests.e2e.conftest import Gateway

from .conftest import admin_cli
from .test_admin_commands import at, is_iso
from .test_coverage import leaves

# What a command that lists or reports (its action, or the command itself) is called.
LISTINGS = {"list", "events", "status", "diff", "reload", "whoami", "catalog", "logs", "stats"}


def structured(gw: Gateway, *args: str) -> Any:
    """`aigw ARGS -o json` and `-o yaml`: the same records both ways, returned once."""
    as_json = admin_cli(gw, *args, "-o", "json")
    assert as_json.returncode == 0, as_json.stderr
    as_yaml = admin_cli(gw, *args, "--output", "yaml")
    assert as_yaml.returncode == 0, as_yaml.stderr
    records = json.loads(as_json.stdout)
    assert yaml.safe_load(as_yaml.stdout) == records
    return records


def test_every_listing_and_status_command_has_output():
    commands = [(spelling, d) for spelling, d in leaves(parser()) if set(spelling.split()[1:]) & LISTINGS]
    assert len(commands) >= 15  # the walk found them
    missing = [spelling for spelling, d in commands if getattr(d, "output", None) != "table"]
    assert missing == []


def test_keys_list_gives_each_keys_fields_and_state_never_a_secret(gateway: Gateway):
    [key] = structured(gateway, "keys", "list", "--app", "demo")
    assert key["tenant"] == "default" and key["app"] == "demo" and key["state"] == "active"
    assert gateway.keys["demo"].startswith(key["prefix"])
    assert is_iso(key["created_at"]) and key["revoked_at"] is None and key["expires_at"] is None
    assert gateway.keys["demo"] not in admin_cli(gateway, "keys", "list", "-o", "yaml").stdout


def test_tenants_apps_and_limits(gateway: Gateway):
    [tenant] = structured(gateway, "tenants", "list")
    assert tenant["name"] == "default" and is_iso(tenant["created_at"])
    apps = {a["name"]: a for a in structured(gateway, "apps", "list")}
    assert apps["embed-only"]["models"] == ["text-embedding-3-small"]
    made = structured(gateway, "limits", "set", "app", "default/demo", "requests=600/minute,burst=50")
    try:
        [limit] = structured(gateway, "limits", "list", "--scope", "app")
        assert limit == made[0]
        assert {k: limit[k] for k in ("scope", "subject", "kind", "amount", "period_s", "burst")} == {
            "scope": "app",
            "subject": "default/demo",
            "kind": "requests",
            "amount": 600,
            "period_s": 60,
            "burst": 50,
        }
    finally:
        assert admin_cli(gateway, "limits", "set", "app", "default/demo").returncode == 0


def test_budgets_give_amount_and_used_as_numbers(gateway: Gateway):
    structured(gateway, "budgets", "set", "app", "default/demo", "requests=1000/day")
    client = OpenAI(base_url=gateway.base_url + "/v1", api_key=gateway.keys["demo"], max_retries=0)
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    # The call reaches the call log within the writer's batch interval.
    for _ in range(600):
        listed = admin_cli(gateway, "budgets", "list", "--subject", "default/demo", "-o", "json")
        if json.loads(listed.stdout)[0]["used"]:
            break
    # Settled: both formats now give the same.
    [budget] = structured(gateway, "budgets", "list", "--subject", "default/demo")
    assert (budget["kind"], budget["amount"], budget["period"], budget["used"]) == (
        "requests",
        1000,
        "day",
        1,
    )
    assert budget["resets_at"].endswith("T00:00:00Z") and 0 < at(budget["resets_at"]) - time.time() <= 86400


def same_output(gw: Gateway, spelled: tuple[str, ...], alias: tuple[str, ...]) -> str:
    """`aigw SPELLED` and `aigw ALIAS` print the same, compared while the call log holds still
    (another test's record may still be on its way from a worker's writer)."""
    for _ in range(600):
        before = admin_cli(gw, *alias)
        out = admin_cli(gw, *spelled)
        assert out.returncode == 0, out.stderr
        if admin_cli(gw, *alias).stdout == before.stdout:
            assert out.stdout == before.stdout
            return out.stdout
    raise AssertionError(f"the call log never held still for aigw {' '.join(alias)}")


def test_logs_and_stats_take_output_for_their_json_and_csv(gateway: Gateway):
    client = OpenAI(base_url=gateway.base_url + "/v1", api_key=gateway.keys["demo"], max_retries=0)
    answer = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    request_id = answer.headers["x-request-id"]
    # The call reaches the call log within the writer's batch interval.
    for _ in range(600):
        if request_id in admin_cli(gateway, "logs", "-o", "json").stdout:
            break
    lines = same_output(gateway, ("logs", "-o", "json"), ("logs", "--json")).splitlines()
    calls = [json.loads(line) for line in lines]  # JSON Lines, as --json
    assert request_id in {c["request_id"] for c in calls}
    assert all(c["model"] == "gpt-4o-mini" for c in calls)
    same_output(gateway, ("stats", "-o", "csv"), ("stats", "--csv"))
    both = admin_cli(gateway, "stats", "-o", "json", "--csv")
    assert both.returncode == 2 and "not allowed with" in both.stderr


def test_upstream_keys_list_and_events(gateway: Gateway):
    keys = {(k["provider"], k["key_id"]): k for k in structured(gateway, "upstream-keys", "list")}
    assert {k: v["state"] for k, v in keys.items()} == {
        ("mock", "mock-key-1"): "healthy",
        ("mock", "mock-key-2"): "healthy",
    }
    assert all("secret" not in k and "value" not in k for k in keys.values())
    assert admin_cli(gateway, "upstream-keys", "disable", "mock", "mock-key-2").returncode == 0
    try:
        # The node's watcher notes the transition within its tick: read until it is there.
        deadline = time.monotonic() + 10
        while True:
            out = admin_cli(gateway, "upstream-keys", "events", "-o", "json")
            events = [json.loads(line) for line in out.stdout.splitlines()]  # JSON Lines
            if any(e["event"] == "disabled" for e in events):
                break
            assert time.monotonic() < deadline, out
        [disabled] = [e for e in events if e["event"] == "disabled"]
        assert (disabled["provider"], disabled["key_id"]) == ("mock", "mock-key-2") and is_iso(disabled["at"])
        as_yaml = admin_cli(gateway, "upstream-keys", "events", "-o", "yaml").stdout
        assert yaml.safe_load(as_yaml) == events  # one list item per event: a stream of them is a list
    finally:
        assert admin_cli(gateway, "upstream-keys", "enable", "mock", "mock-key-2").returncode == 0


def test_status_and_config_diff(gateway: Gateway):
    status = structured(gateway, "status")
    assert (status["ready"], status["store"], status["dataplane"]) == (True, True, True)
    assert status["admin_url"] == gateway.admin_url and status["version"]
    diff = structured(gateway, "config", "diff")
    assert diff["changes"] == [] and isinstance(diff["config"], int)


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_a_refused_reload_lists_its_problems_and_exits_1(gateway: Gateway, fmt: str):
    good = gateway.config.read_text()
    gateway.config.write_text(good + "\nnot_a_section: 1\n")
    try:
        out = admin_cli(gateway, "config", "diff", "-o", fmt)
    finally:
        gateway.config.write_text(good)
    assert out.returncode == 1
    refusal = json.loads(out.stdout) if fmt == "json" else yaml.safe_load(out.stdout)
    assert any("not_a_section" in problem for problem in refusal["problems"])


def test_tenancy_listings(gateway: Gateway):
    made = admin_cli(gateway, "tokens", "create", "--user", "ci-bot", "--ttl", "30d")
    assert made.returncode == 0, made.stderr
    token_id = made.stderr.split("created ")[1].split(";")[0]
    tokens = {t["id"]: t for t in structured(gateway, "tokens", "list")}
    assert is_iso(tokens[token_id]["expires_at"]) and tokens[token_id]["revoked_at"] is None
    assert made.stdout.strip() not in json.dumps(tokens)
    # The audit log notes each read of it: one call, in YAML.
    out = admin_cli(gateway, "audit", "list", "--limit", "5", "-o", "yaml")
    audit = yaml.safe_load(out.stdout)
    assert [e["path"] for e in audit][:2] == ["/admin/tokens", "/admin/tokens"]
    assert all(is_iso(entry["ts"]) for entry in audit)
