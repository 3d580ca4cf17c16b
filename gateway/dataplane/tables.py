"""Admission tables for one worker: built from config and a store snapshot, rebuilt when the
store's generation moves (a key created or revoked, an app changed)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from ..admission import AdmissionSpec, AdmissionTable, ConsumerSpec, GroupSpec
from ..config.schema import Config
from ..store import Store
from ..store.records import Snapshot
from .targets import Target

log = logging.getLogger("aigw.tables")


def build_table(snapshot: Snapshot, pools: Mapping[str, tuple[Target, ...]]) -> AdmissionTable:
    consumers = [
        ConsumerSpec(
            digest=k.digest,
            key_id=k.id,
            tenant=k.tenant,
            app=k.app,
            models=None if "*" in k.models else frozenset(k.models),
        )
        for k in snapshot.keys
    ]
    groups = [GroupSpec(name, targets) for name, targets in pools.items()]
    return AdmissionTable(AdmissionSpec(consumers=consumers, groups=groups))


class LiveTable:
    """Holds the current table and swaps in a new one when the store changes.

    Bounded staleness: a change is visible after at most `interval` plus one rebuild — the
    documented "within 1 s" for key revocation.
    """

    def __init__(self, cfg: Config, store: Store, pools: Mapping[str, tuple[Target, ...]]):
        self._store = store
        self._pools = pools
        self._interval = cfg.server.reload_interval_s
        snapshot = store.snapshot()
        self.generation = snapshot.generation
        self.table = build_table(snapshot, pools)
        self._task: asyncio.Task[None] | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._task = loop.create_task(self._watch())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self._interval)
            try:
                # A generation check is one indexed read; the rebuild runs off the event loop.
                if self._store.generation() != self.generation:
                    snapshot = await loop.run_in_executor(None, self._store.snapshot)
                    self.table = build_table(snapshot, self._pools)
                    self.generation = snapshot.generation
                    log.info(
                        "tables reloaded at generation %d (%d consumer keys)",
                        snapshot.generation,
                        self.table.consumer_count,
                    )
            except Exception:
                # Keep serving on the tables we have; say so and try again next tick.
                log.exception("reloading tables failed; serving generation %d", self.generation)
