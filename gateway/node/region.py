"""The node's shared-memory region: created by the supervisor before any worker starts, sized
from the config, attached by every worker, reconciled while the node runs, removed at exit."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import logging
import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from ..admission import SharedRegion
from ..admission.layout import DEFAULT_MAX_WORKERS
from ..config.schema import Config
from ..processes import alive

log = logging.getLogger("aigw.region")

RECONCILE_INTERVAL_S = 1.0


def key_capacity(cfg: Config) -> int:
    keys = sum(len(p.keys) for p in cfg.providers)
    capacity = 1024
    while capacity < 2 * keys:
        capacity *= 2
    return capacity


def region_path() -> str:
    base = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()
    return os.path.join(base, f"aigw-{os.getpid()}.region")


def remove_stale_regions(directory: str) -> int:
    """Remove the regions of nodes whose supervisor is gone without removing its own (SIGKILL,
    a crash); returns how many."""
    removed = 0
    for path in glob.glob(os.path.join(directory, "aigw-*.region")):
        pid = os.path.basename(path)[len("aigw-") : -len(".region")]
        if pid.isdigit() and not alive(int(pid)):
            # Gone already (another node removed it), or another user's in a sticky directory
            # such as /dev/shm: not this node's to remove.
            with contextlib.suppress(FileNotFoundError, PermissionError):
                os.unlink(path)
                removed += 1
    return removed


@asynccontextmanager
async def node_region(cfg: Config, workers: int) -> AsyncIterator[Any]:
    """Create the region; free the in-flight rows of dead workers every second while it lives."""
    path = region_path()
    stale = remove_stale_regions(os.path.dirname(path))
    if stale:
        log.info("removed %d shared region(s) left by nodes that did not stop cleanly", stale)
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
