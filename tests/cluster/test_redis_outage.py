"""Redis stopped under load and started again: no request fails (the nodes serve on local state,
each limit divided among the live nodes), every node says it is degraded while Redis is down
(/health, GET /admin/cluster, `aigw cluster status`, aigw_cluster_degraded), /ready stays true,
and once Redis is back the limit is global again within seconds."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from bench.services import RedisServer

from .conftest import Cluster, hammer, wait_until

RATE, BURST, WINDOW_S = 150, 30, 2.0


@pytest.fixture
def cluster(tmp_path, database: str, redis_server: RedisServer, upstream: str) -> Iterator[Cluster]:
    made = Cluster(tmp_path, database, redis_server, upstream)
    yield made
    made.close()


def degraded(node: Any) -> bool:
    health = httpx.get(node.admin_url + "/health").json()
    return bool(health["status"] == "degraded")


async def _admitted(url: str, key_id: str) -> list[float]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT ts FROM calls WHERE key_id = $1 AND status = 200", key_id)
    finally:
        await conn.close()
    return sorted(r["ts"] for r in rows)


def test_redis_down_and_back_under_load(cluster: Cluster, redis_server: RedisServer, database: str):
    a = cluster.nodes[0]
    made = a.admin("POST", "/admin/keys", json={"app": "demo"}).json()
    key, key_id = made["key"], made["record"]["id"]
    rule = [{"kind": "requests", "amount": RATE, "period_s": 1, "burst": BURST}]
    assert a.admin("PUT", "/admin/limits/app/default%2Fdemo", json=rule).status_code == 200
    generation = a.admin("GET", "/ready").json()["generation"]
    for node in cluster.nodes:
        wait_until(
            lambda node=node: node.admin("GET", "/ready").json()["loaded_generation"] >= generation, "limit"
        )

    answers: list[dict[str, Any]] = []
    load = threading.Thread(target=lambda: answers.extend(hammer(cluster.url, key, 14.0)))
    load.start()
    try:
        time.sleep(2.0)  # the load runs on global limits first
        redis_server.stop()
        for node in cluster.nodes:
            wait_until(lambda node=node: degraded(node), "the node says it is degraded")
        status = a.admin("GET", "/admin/cluster").json()
        assert status["degraded"] and status["redis"] == "unreachable" and status["degraded_since"]
        assert "aigw_cluster_degraded 1.0" in httpx.get(a.admin_url + "/metrics").text
        assert "DEGRADED" in a.cli("cluster", "status")
        assert all(httpx.get(n.admin_url + "/ready").status_code == 200 for n in cluster.nodes)
        time.sleep(2.0)  # degraded under load
        redis_server.start()
        for node in cluster.nodes:
            wait_until(lambda node=node: not degraded(node), "the node is global again")
        back = time.time()
        assert "aigw_cluster_degraded 0.0" in httpx.get(a.admin_url + "/metrics").text
    finally:
        load.join()
    failed = [x for x in answers if x["status"] not in (200, 429)]
    assert failed == [], failed[:5]
    answered = sum(x["status"] == 200 for x in answers)
    admitted = wait_until(
        lambda: (ts := asyncio.run(_admitted(database, key_id))) and len(ts) == answered and ts,
        "every admitted request has its call record",
    )
    # Global again: the windows from a second after Redis returned hold the limit's bound.
    end = max(x["sent"] for x in answers) - 0.5
    windows = []
    t = back + 1.0
    while t + WINDOW_S <= end:
        windows.append(sum(t <= ts < t + WINDOW_S for ts in admitted))
        t += WINDOW_S
    assert windows, "the load ended before a window after Redis's return"
    upper = BURST + RATE * WINDOW_S + 3 * int(0.020 * RATE)
    assert all(0.97 * RATE * WINDOW_S <= c <= upper for c in windows), windows
