"""Two nodes sharing one PostgreSQL store act as one gateway for keys and call records: a key
created through one node's admin API (or the CLI) is accepted by every worker of both, a key
revoked through the other is refused by both, and `aigw logs`, `aigw stats` and the admin API
read every node's records."""

from __future__ import annotations

import json
from collections.abc import Iterator

import openai
import pytest

from ..stores import TEST_DATA_KEY
from .conftest import MODELS_YAML, Gateway, admitted_by_every_worker, fresh_get, until

CALLS_PER_NODE = 6


@pytest.fixture
def nodes(tmp_path, postgres_url, monkeypatch) -> Iterator[tuple[Gateway, Gateway]]:
    # Provider keys added at runtime are sealed under a data key every node shares.
    monkeypatch.setenv("AIGW_SECRET_KEY", TEST_DATA_KEY)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = Gateway(tmp_path / "a", MODELS_YAML, store_url=postgres_url).start()
    b = Gateway(tmp_path / "b", MODELS_YAML, store_url=postgres_url).start()
    yield a, b
    for node in (a, b):
        if node.proc is not None and node.proc.poll() is None:
            node.stop()


def test_two_nodes_share_keys_and_call_records_through_postgresql(nodes):
    a, b = nodes
    created = a.admin("POST", "/admin/keys", json={"app": "demo"})
    assert created.status_code == 201, created.text
    key, key_id = created.json()["key"], created.json()["record"]["id"]
    cli_key = b.cli("keys", "create", "--app", "demo")  # the CLI writes the same shared store
    # Node A answered once its own workers served the key; node B's follow its notification.
    admitted_by_every_worker(a, key, strict=True)
    admitted_by_every_worker(b, key)
    for node in (a, b):
        admitted_by_every_worker(node, cli_key)

    answered: set[str] = set()
    for node in (a, b):
        client = openai.OpenAI(base_url=node.base_url + "/v1", api_key=key, max_retries=0)
        for i in range(CALLS_PER_NODE):
            response = client.chat.completions.with_raw_response.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": f"call {i}"}]
            )
            assert response.parse().usage.total_tokens > 0
            answered.add(response.headers["x-request-id"])

    # Node B's admin API lists node A's calls too, once their batches are written.
    def listed_by_b() -> set[str]:
        page = b.admin("GET", "/admin/calls", params={"key_id": key_id, "limit": 500}).json()
        return {c["request_id"] for c in page["calls"] if c["route"] == "chat"}

    until(lambda: listed_by_b() == answered, "node B lists every node's calls")

    assert b.admin("POST", f"/admin/keys/{key_id}/revoke").status_code == 200
    until(lambda: fresh_get(a.base_url + "/v1/models", key).status_code == 401, "node A refuses the key")
    assert a.stop() == 0 and b.stop() == 0  # SIGTERM: every buffered record is written

    records = [json.loads(line) for line in a.cli("logs", "--json", "--limit", "1000").splitlines()]
    chats = [r for r in records if r["route"] == "chat"]
    assert sorted(r["request_id"] for r in chats) == sorted(answered)  # both nodes', each once
    assert all(r["status"] == 200 and r["key_id"] == key_id and r["total_tokens"] > 0 for r in chats)
    stats = json.loads(b.cli("stats", "--json"))
    assert stats["totals"]["calls"] == len(records)  # the rollups agree
