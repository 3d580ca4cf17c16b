"""Three nodes behind nginx act as one gateway for what they share through PostgreSQL and Redis:
a consumer key made through one node's admin API is accepted by every node, a revocation through
another is refused by every node within a second; and a provider key that answers 401 or 429 to
one node gets no request from any node sent more than 100 ms after the first answer."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from bench.services import RedisServer

from ..e2e.conftest import admitted_by_every_worker, fresh_get
from .conftest import NODES, Cluster, chat, new_key, wait_until

# Cluster-wide propagation promised by docs/cluster.md.
REVOCATION_BOUND_S = 1.0
KEY_HEALTH_BOUND_S = 0.1
# Requests each node gets after the bound in which it would pick a key it did not know refused.
LATER_REQUESTS = 40


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, database: str, module_redis: RedisServer, upstream: str) -> Iterator[Cluster]:
    made = Cluster(tmp_path_factory.mktemp("cluster"), database, module_redis, upstream)
    yield made
    made.close()


def test_the_cluster_lists_its_nodes(cluster: Cluster):
    status = cluster.nodes[2].admin("GET", "/admin/cluster").json()
    assert status["clustered"] and not status["degraded"] and status["redis"] == "connected"
    assert {n["id"].rsplit(":", 1)[1] for n in status["nodes"]} == {str(n.port) for n in cluster.nodes}
    assert all(n["state"] == "serving" and n["workers"] == 2 for n in status["nodes"])
    printed = cluster.nodes[0].cli("cluster", "status")
    assert "3 live node(s)" in printed and printed.count("serving") >= NODES
    assert httpx.get(cluster.nodes[1].admin_url + "/health").json()["status"] == "ok"


def test_a_key_made_on_one_node_is_accepted_by_all_and_a_revocation_holds_everywhere(cluster: Cluster):
    a, b, c = cluster.nodes
    created = a.admin("POST", "/admin/keys", json={"app": "demo"})
    assert created.status_code == 201, created.text
    key, key_id = created.json()["key"], created.json()["record"]["id"]
    # Node A answered once its workers served the key; the others follow the store's notification.
    admitted_by_every_worker(a, key, strict=True)
    for node in (b, c):
        admitted_by_every_worker(node, key)
    assert chat(cluster.url, key).status_code == 200

    revoked = b.admin("POST", f"/admin/keys/{key_id}/revoke")
    assert revoked.status_code == 200
    answered = time.monotonic()
    generation = int(revoked.headers["aigw-config-generation"])
    # When did every worker of every node serve the store without the key?
    served_after: dict[int, float] = {}
    while len(served_after) < NODES:
        for i, node in enumerate(cluster.nodes):
            if (
                i not in served_after
                and node.admin("GET", "/ready").json()["loaded_generation"] >= generation
            ):
                served_after[i] = time.monotonic() - answered
        assert time.monotonic() - answered < 30, served_after
    assert max(served_after.values()) < REVOCATION_BOUND_S, served_after
    for node in cluster.nodes:  # and each refuses it, on fresh connections to its workers
        assert {fresh_get(node.base_url + "/v1/models", key).status_code for _ in range(6)} == {401}
    assert chat(cluster.url, key).status_code == 401


@pytest.mark.parametrize(("provider_key", "state", "status"), [("k1", "revoked", 401), ("k3", "quota", 429)])
def test_a_key_the_provider_refuses_to_one_node_is_left_alone_by_all(
    cluster: Cluster, upstream: str, provider_key: str, state: str, status: int
):
    key, _ = new_key(cluster)
    # Traffic through every node, so each would pick the key again if it did not know.
    stop = threading.Event()
    errors: list[int] = []
    sent: list[list[float]] = [[] for _ in cluster.nodes]  # when each node was sent each request

    def traffic(node_url: str, times: list[float]) -> None:
        with httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
            while not stop.is_set():
                body = {"model": "chat", "messages": [{"role": "user", "content": "hi"}]}
                times.append(time.time())
                answer = client.post(node_url + "/v1/chat/completions", json=body)
                if answer.status_code != 200:
                    errors.append(answer.status_code)

    threads = [
        threading.Thread(target=traffic, args=(n.base_url, times))
        for n, times in zip(cluster.nodes, sent, strict=True)
    ]
    for t in threads:
        t.start()
    try:
        log = upstream + "/_mock/log"
        httpx.post(upstream + f"/_mock/keys/{provider_key}", json={"state": state}).raise_for_status()

        def refusals() -> list[dict]:
            return [r for r in httpx.get(log).json()["requests"] if r["key"] == provider_key]

        first = wait_until(refusals, f"some node sends to {provider_key} and is refused")[0]["at"]
        # Traffic runs on: a node that did not hear would send to the key again, one request in
        # a few (the pool has four keys).
        bound = first + KEY_HEALTH_BOUND_S
        wait_until(
            lambda: all(sum(t > bound for t in times) >= LATER_REQUESTS for times in sent),
            f"every node is sent {LATER_REQUESTS} requests past the bound",
        )
    finally:
        stop.set()
        for t in threads:
            t.join()
    late = [r for r in refusals() if r["at"] > bound]
    assert all(r["status"] == status for r in refusals())
    assert late == [], f"{len(late)} request(s) reached {provider_key} more than 100 ms after it was refused"
    assert errors == []  # every request moved to another key, invisibly
    # Every node's table says so.
    for node in cluster.nodes:
        states = {k["key_id"]: k["state"] for k in node.admin("GET", "/admin/upstream-keys").json()}
        assert states[provider_key] == ("invalid" if status == 401 else "exhausted")
