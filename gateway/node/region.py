"""The node's shared-memory region: created by the supervisor before any worker starts, sized
from the config, attached by every worker, reconciled while the node runs, removed at exit (one
left by a node killed outright is removed by the next to start: gateway/processes.py)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from ..admission import SharedRegion
from ..admission.layout import DEFAULT_MAX_WORKERS
from ..config.schema import Config
from ..processes import scratch_path

log = logging.getLogger("aigw.region")

RECONCILE_INTERVAL_S = 1.0


def key_capacity(cfg: Config) -> int:
    keys = sum(len(p.keys) for p in cfg.providers)
    capacity = 1024
    while capacity < 2 * keys:
        capacity *= 2
    return capacity


def region_path() -> str:
    return scratch_path("region")


@asynccontextmanager
async def node_region(cfg: Config, workers: int) -> AsyncIterator[Any]:
    """Create the region; free the in-flight rows of dead workers every second while it lives."""
    path = region_path()
    region = SharedRegion.create(
        path, max(DEFAULT_MAX_WORKERS, 2 * workers), cfg.server.limit_buckets, key_capacity(cfg)
    )
    task = asyncio.get_running_loop().create_task(_reconcile(region))
    try:
        yield region
    finally:
        task.cancel()
        region.close()
        os.unlink(path)


async def _reconcile(region: Any) -> None:
    # A worker killed mid-request (SIGKILL, OOM) cannot decrement its in-flight counts; once its
    # process is gone, its row is zeroed here. GCRA buckets need nothing: they hold no locks.
    while True:
        await asyncio.sleep(RECONCILE_INTERVAL_S)
        freed = region.reconcile()
        if freed:
            log.warning("freed the in-flight counts of %d dead worker process(es)", freed)
