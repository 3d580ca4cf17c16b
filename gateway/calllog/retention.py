"""Retention: the node's supervisor prunes old call records and rollups every few minutes."""

from __future__ import annotations

import asyncio
import logging
import time

from .store import CallLog, Retention

log = logging.getLogger("aigw.calllog")


async def prune_forever(call_log: CallLog, retention: Retention) -> None:
    """Prune now and then every `retention.interval_s`, off the event loop. Run it as a task in
    one process per node (the supervisor); cancel it at shutdown."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            pruned = await loop.run_in_executor(None, call_log.prune, retention, time.time())
            if pruned.calls or pruned.rollups:
                log.info("pruned %d call record(s) and %d rollup row(s)", pruned.calls, pruned.rollups)
        except Exception:
            log.exception("pruning the call log failed; retrying in %gs", retention.interval_s)
        await asyncio.sleep(retention.interval_s)
