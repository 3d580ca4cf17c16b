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

from .conftest import NODES, Cluster, admitted_times, hammer, limit_app, window_counts

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


def test_a_global_limit_holds_across_the_cluster_within_the_stated_bound(cluster: Cluster, database: str):
    mode = cluster.mode  # type: ignore[attr-defined]
    key, key_id = limit_app(cluster, RATE, BURST)
    answers = hammer(cluster.url, key, HAMMER_S)
    statuses = {a["status"] for a in answers}
    assert statuses <= {200, 429}, statuses  # refused with 429 when over, never an error
    admitted = admitted_times(database, key_id, sum(a["status"] == 200 for a in answers))
    start, end = min(a["sent"] for a in answers), max(a["sent"] for a in answers)
    limit = BURST + RATE * WINDOW_S
    upper = limit * 1.01 if mode == "exact" else limit + NODES * int(LEASE_MS / 1000 * RATE)
    # Past the first burst, the limit lets RATE * W through a window: 97% of it must be admitted.
    lower = 0.97 * RATE * WINDOW_S
    # From a second in, when every client is sending, to half a second before the end.
    counts = window_counts(admitted, start + 1.0, end - 0.5, WINDOW_S)
    assert len(counts) >= 2
    assert all(lower <= c <= upper for c in counts), (mode, counts, lower, upper)
