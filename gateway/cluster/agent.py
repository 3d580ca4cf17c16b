"""The supervisor's side of the cluster, one per node: heartbeats and the member list, the node's
degraded state, key health received from the other nodes and sent from this one, budget sync.

Redis unreachable is a state, not an error: the node marks itself degraded in its region (every
worker then charges its share of each shared limit, 1/live nodes, in shared memory), says so in
`/health`, `GET /admin/cluster` and `aigw_cluster_degraded`, and keeps trying. When Redis
answers again it reads the key health it missed, sends what this node learnt meanwhile, and clears
the mark: global limits are back within one heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from .._version import __version__
from ..admission.layout import CLUSTER_EXACT, CLUSTER_LEASE, key_id
from ..config.schema import Config
from ..keypool.directory import KeyDirectory
from ..store import Store
from .budgets import BudgetSync
from .connect import connect
from .keyhealth import DECODER as KEY_DECODER
from .keyhealth import ENCODER as KEY_ENCODER
from .keyhealth import STORE_AND_PUBLISH, apply, fingerprint, record_of
from .membership import DECODER as NODE_DECODER
from .membership import (
    DEGRADED,
    DRAINING,
    ENCODER,
    FORGET_AFTER,
    SERVING,
    ClusterStatus,
    NodeInfo,
    as_seen,
    live_count,
)
from .names import Names
from .worker import FAILURES

log = logging.getLogger("aigw.cluster")

# How often this node's key records are compared with what it last sent: the changes its prober
# and its operators make (its workers send their own at once).
KEY_TICK_S = 0.25


class ClusterAgent:
    def __init__(
        self,
        cfg: Config,
        node: str,
        workers: int,
        admin_url: str,
        region: Any,
        store: Store,
        directory: KeyDirectory,
        loaded_generation: Callable[[], int | None],
    ):
        c = cfg.cluster
        self.cfg = c
        self.node = node
        self._workers = workers
        self._admin_url = admin_url
        self._region = region
        self._store = store
        self._directory = directory
        self._loaded_generation = loaded_generation
        self._names = Names(c.prefix)
        self._redis = connect(c.redis_url, c.timeout_s, client_name=f"aigw-node:{node}")
        # Pub/sub waits for messages as long as it takes: a client without a read timeout.
        self._listener = connect(c.redis_url, c.timeout_s, f"aigw-events:{node}", reads_wait=True)
        self._publish = self._redis.register_script(STORE_AND_PUBLISH)
        self._budgets = BudgetSync(self._redis, self._names, region)
        self._started = time.time()
        self._draining = False
        self._connected = False  # Redis has answered once
        self._nodes: list[NodeInfo] = []
        self._degraded_since: float | None = None
        self._outage_logged = False
        self._sent: dict[int, tuple[int, int, int]] = {}  # slot -> fingerprint last sent or applied
        self._budget_records: tuple[int, list[Any]] = (-1, [])  # (store generation, budgets)
        mode = CLUSTER_EXACT if c.limits == "exact" else CLUSTER_LEASE
        # Degraded until Redis first answers: the node's share of each limit, with itself as the
        # only node it knows of.
        region.set_cluster_state(mode, 1, 1, int(c.lease_ms * 1_000_000))
        self._degraded_since = time.time()

    # -- what the admin API shows --------------------------------------------------------------
    def status(self) -> ClusterStatus:
        _mode, degraded, live, _lease = self._region.cluster_state()
        if degraded and self._degraded_since is None:
            # A worker's failed Redis call marks the region before this node's own loop fails:
            # the region is the one source, and the outage dates from the first sight of it.
            self._degraded_since = time.time()
        return ClusterStatus(
            node=self.node,
            clustered=True,
            redis="unreachable" if degraded else "connected",
            limits=self.cfg.limits,
            degraded=bool(degraded),
            degraded_since=self._degraded_since if degraded else None,
            live_nodes=live,
            nodes=as_seen(self._nodes, time.time(), self.cfg.node_timeout_s),
        )

    # -- the loops -----------------------------------------------------------------------------
    async def run(self) -> None:
        tasks = [
            asyncio.ensure_future(job)
            for job in (self._heartbeats(), self._receive(), self._send_keys(), self._sync_budgets())
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()

    async def _heartbeats(self) -> None:
        while True:
            try:
                await self._beat()
                if self._region.cluster_state()[1]:
                    await self._resync()
            except FAILURES as exc:
                self._degrade(exc)
            await asyncio.sleep(self.cfg.heartbeat_s if self._degraded_since is None else 0.25)

    async def _beat(self) -> None:
        now = time.time()
        state = DRAINING if self._draining else DEGRADED if self._region.cluster_state()[1] else SERVING
        me = NodeInfo(
            id=self.node,
            version=__version__,
            state=state,
            generation=self._loaded_generation() or 0,
            workers=self._workers,
            started=self._started,
            heartbeat=now,
            admin_url=self._admin_url,
        )
        await self._redis.hset(self._names.nodes, self.node, ENCODER.encode(me))
        nodes = []
        for raw in (await self._redis.hgetall(self._names.nodes)).values():
            try:
                nodes.append(NODE_DECODER.decode(raw))
            except ValueError:
                continue
        forgotten = [n.id for n in nodes if now - n.heartbeat > FORGET_AFTER * self.cfg.node_timeout_s]
        if forgotten:
            await self._redis.hdel(self._names.nodes, *forgotten)
        self._nodes = [n for n in nodes if n.id not in forgotten]
        live = live_count(as_seen(self._nodes, now, self.cfg.node_timeout_s))
        self._region.set_cluster_state(live_nodes=max(1, live))

    async def _resync(self) -> None:
        """Redis answers again (or for the first time): read the key health this node missed,
        send what it learnt meanwhile, then charge shared limits through Redis again."""
        await self._load_keys()
        self._sent.clear()  # every key of this node is compared afresh, and sent if not healthy
        await self._send_changed(force=True)
        self._region.set_cluster_state(degraded=0)
        if not self._connected:
            log.info("cluster state in Redis (%s limits)", self.cfg.limits)
        elif self._degraded_since is not None:
            log.warning(
                "Redis reachable again after %.1fs: shared limits and key health are global again",
                time.time() - self._degraded_since,
            )
        self._connected = True
        self._degraded_since = None
        self._outage_logged = False

    def _degrade(self, exc: BaseException) -> None:
        if self._degraded_since is None:
            self._degraded_since = time.time()
        if not self._outage_logged:
            self._outage_logged = True
            log.warning(
                "Redis unreachable (%s): serving on local state, each shared limit divided by %d "
                "live node(s)",
                exc,
                self._region.cluster_state()[2],
            )
        self._region.set_cluster_state(degraded=1)

    # -- key health ----------------------------------------------------------------------------
    async def _load_keys(self) -> None:
        for raw in (await self._redis.hgetall(self._names.keys)).values():
            self._take(raw)

    def _take(self, raw: bytes) -> None:
        try:
            record = KEY_DECODER.decode(raw)
        except ValueError:
            return
        if record.node == self.node:
            return  # this node's own: its workers acted on it first
        if apply(self._region, record):
            slot = self._region.key_slot(record.key)
            self._sent[slot] = fingerprint(self._region, slot)  # news from elsewhere: not sent back

    async def _receive(self) -> None:
        delay = 0.1
        while True:
            pubsub = self._listener.pubsub()
            try:
                await pubsub.subscribe(self._names.events)
                # Subscribed first, then read what is stored: nothing falls between the two.
                await self._load_keys()
                delay = 0.1
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self._take(message["data"])
            except FAILURES as exc:
                log.debug("key-health subscription lost (%s); again in %.1fs", exc, delay)
            finally:
                with contextlib.suppress(*FAILURES):
                    await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def _send_keys(self) -> None:
        while True:
            await asyncio.sleep(KEY_TICK_S)
            if self._degraded_since is not None:
                continue
            try:
                await self._send_changed()
            except FAILURES as exc:
                self._degrade(exc)

    async def _send_changed(self, force: bool = False) -> None:
        """Send each key of this node whose health changed since it was last sent or applied
        (`force`: each that is not plainly healthy)."""
        for provider, key in self._directory.current():
            ident = key_id(provider.name, key.id)
            slot = self._region.key_slot(ident)
            now_fp = fingerprint(self._region, slot)
            last = self._sent.get(slot)
            if last == now_fp or (last is None and not force):
                self._sent[slot] = now_fp
                continue
            self._sent[slot] = now_fp
            record = record_of(self._region, slot, ident, self.node)
            if last is None and record.state == 0 and not record.cool_until:
                continue  # forced, but healthy: nothing to tell
            body = KEY_ENCODER.encode(record)
            await self._publish(keys=[self._names.keys], args=[str(ident), body, self._names.events])

    # -- budgets -------------------------------------------------------------------------------
    async def _sync_budgets(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.cfg.budget_sync_s)
            if self._degraded_since is not None:
                continue
            try:
                generation = self._store.generation()
                if generation != self._budget_records[0]:
                    budgets = await loop.run_in_executor(None, self._store.list_budgets)
                    self._budget_records = (generation, budgets)
                await self._budgets.sync(self._budget_records[1], int(time.time()))
            except FAILURES as exc:
                self._degrade(exc)
            except Exception:
                log.exception("budget sync failed; retrying")

    # -- shutdown ------------------------------------------------------------------------------
    async def leave(self) -> None:
        """The node drains: others stop counting it at once."""
        self._draining = True
        with contextlib.suppress(*FAILURES):
            await self._redis.hdel(self._names.nodes, self.node)

    async def close(self) -> None:
        for client in (self._redis, self._listener):
            with contextlib.suppress(*FAILURES):
                await client.aclose()
