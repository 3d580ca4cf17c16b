"""A limit of an app holds for the cluster, not per node: hammered through nginx by several
client processes, the three nodes together admit, in every window, no more than the bound
docs/cluster.md states for the mode (exact: the limit itself, within 1%; lease: the limit plus
one chunk per node) and at least 97% of what the limit allows."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import pytest

from bench.services import RedisServer

from .conftest import NODES, Cluster, hammer, wait_until

RATE = 150  # requests per second
BURST = 30  # a fifth of a second's worth: a window of W seconds allows BURST + RATE * W
WINDOW_S = 2.0
HAMMER_S = 8.0
LEASE_MS = 20.0  # cluster.lease_ms's default: a chunk is 3 requests of this limit


@pytest.fixture(scope="module", params=["exact", "lease"])
def cluster(
    request, tmp_path_factory, database: str, module_redis: RedisServer, upstream: str
) -> Iterator[Cluster]:
    made = Cluster(
        tmp_path_factory.mktemp(request.param), database, module_redis, upstream, limits=request.param
    )
    made.mode = request.param  # type: ignore[attr-defined]
    yield made
    made.close()
    asyncio.run(_clear(database))  # the next mode's cluster starts on an empty call log


async def _clear(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DELETE FROM calls")
    finally:
        await conn.close()


async def _admitted(url: str, key_id: str) -> list[float]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT ts FROM calls WHERE key_id = $1 AND status = 200", key_id)
    finally:
        await conn.close()
    return sorted(r["ts"] for r in rows)


def test_a_global_limit_holds_across_the_cluster_within_the_stated_bound(cluster: Cluster, database: str):
    mode = cluster.mode  # type: ignore[attr-defined]
    a = cluster.nodes[0]
    made = a.admin("POST", "/admin/keys", json={"app": "demo"}).json()
    key, key_id = made["key"], made["record"]["id"]
    rule = [{"kind": "requests", "amount": RATE, "period_s": 1, "burst": BURST}]
    assert a.admin("PUT", "/admin/limits/app/default%2Fdemo", json=rule).status_code == 200
    for node in cluster.nodes:
        wait_until(
            lambda node=node: (
                node.admin("GET", "/ready").json()["loaded_generation"]
                >= a.admin("GET", "/ready").json()["generation"]
            ),
            "every node serves the limit",
        )

    answers = hammer(cluster.url, key, HAMMER_S)
    statuses = {a["status"] for a in answers}
    assert statuses <= {200, 429}, statuses  # refused with 429 when over, never an error
    answered = sum(a["status"] == 200 for a in answers)
    # Every admitted request is in the call log (written in batches: wait for the last ones).
    admitted = wait_until(
        lambda: (ts := asyncio.run(_admitted(database, key_id))) and len(ts) == answered and ts,
        "every admitted request has its call record",
    )
    start, end = min(a["sent"] for a in answers), max(a["sent"] for a in answers)
    limit = BURST + RATE * WINDOW_S
    upper = limit * 1.01 if mode == "exact" else limit + NODES * int(LEASE_MS / 1000 * RATE)
    # Past the first burst, the limit lets RATE * W through a window: 97% of it must be admitted.
    lower = 0.97 * RATE * WINDOW_S
    counts = []
    t = start + 1.0  # past the start, when every client is sending
    while t + WINDOW_S <= end - 0.5:
        counts.append(sum(t <= ts < t + WINDOW_S for ts in admitted))
        t += WINDOW_S
    assert len(counts) >= 2
    assert all(lower <= c <= upper for c in counts), (mode, counts, lower, upper)
