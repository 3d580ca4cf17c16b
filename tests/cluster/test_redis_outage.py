"""Redis stopped under load and started again: no request fails (the nodes serve on local state,
each limit divided among the live nodes), every node says it is degraded while Redis is down
(/health, GET /admin/cluster, `aigw cluster status`, aigw_cluster_degraded), /ready stays true,
and once Redis is back the limit is global again within seconds."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bench.services import RedisServer

from .conftest import Cluster, Load, admitted_times, limit_app, wait_until, window_counts

RATE, BURST, WINDOW_S = 150, 30, 2.0


@pytest.fixture
def cluster(tmp_path, database: str, redis_server: RedisServer, upstream: str) -> Iterator[Cluster]:
    made = Cluster(tmp_path, database, redis_server, upstream)
    yield made
    made.close()


def degraded(node: Any) -> bool:
    health = httpx.get(node.admin_url + "/health").json()
    return bool(health["status"] == "degraded")


def test_redis_down_and_back_under_load(cluster: Cluster, redis_server: RedisServer, database: str):
    a = cluster.nodes[0]
    key, key_id = limit_app(cluster, RATE, BURST)

    with Load(cluster.url, key) as load:
        load.wait_for(300, "the load runs on global limits first")
        redis_server.stop()
        for node in cluster.nodes:
            wait_until(lambda node=node: degraded(node), "the node says it is degraded")
        status = a.admin("GET", "/admin/cluster").json()
        assert status["degraded"] and status["redis"] == "unreachable" and status["degraded_since"]
        assert "aigw_cluster_degraded 1.0" in httpx.get(a.admin_url + "/metrics").text
        assert "DEGRADED" in a.cli("cluster", "status")
        assert all(httpx.get(n.admin_url + "/ready").status_code == 200 for n in cluster.nodes)
        load.wait_for(300, "the nodes serve degraded under load")
        redis_server.start()
        for node in cluster.nodes:
            wait_until(lambda node=node: not degraded(node), "the node is global again")
        back = time.time()
        assert "aigw_cluster_degraded 0.0" in httpx.get(a.admin_url + "/metrics").text
        load.wait_sent_after(back + 1.0 + 2 * WINDOW_S + 0.5, "two windows of load after Redis's return")
    answers = load.answers
    failed = [x for x in answers if x["status"] not in (200, 429)]
    assert failed == [], failed[:5]
    admitted = admitted_times(database, key_id, sum(x["status"] == 200 for x in answers))
    # Global again: the windows from a second after Redis returned hold the limit's bound.
    windows = window_counts(admitted, back + 1.0, max(x["sent"] for x in answers) - 0.5, WINDOW_S)
    assert windows
    upper = BURST + RATE * WINDOW_S + 3 * int(0.020 * RATE)
    assert all(0.97 * RATE * WINDOW_S <= c <= upper for c in windows), windows
