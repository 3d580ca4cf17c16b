"""A worker's side of the cluster: it charges in Redis what admission left to it (exact mode, or
a spent lease), refills leases running low in the background, settles exact-mode token limits,
and publishes what it learns about provider keys.

Nothing here blocks the event loop or fails a request: a Redis call that fails marks the node
degraded in the region (every worker then charges its share of each limit locally, in shared
memory), and the supervisor clears the mark once Redis answers again (gateway/cluster/agent.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from redis.exceptions import RedisError

from ..config.cluster import ClusterConfig
from .calls import ScriptCalls
from .connect import connect
from .keyhealth import ENCODER, LEARN_EVERY_S, STORE_AND_PUBLISH, record_of
from .names import Names
from .scripts import ADJUST, CHARGE

log = logging.getLogger("aigw.cluster")

# What a failed Redis call raises: its own errors, a socket's, a timeout.
FAILURES = (RedisError, OSError, asyncio.TimeoutError)


class WorkerCluster:
    def __init__(self, cfg: ClusterConfig, region: Any, node: str):
        self._redis = connect(cfg.redis_url, cfg.timeout_s, client_name=f"aigw-worker:{node}")
        self._names = Names(cfg.prefix)
        self._region = region
        self._node = node
        # Charges and settlements of one loop turn share one pipeline (many requests in flight).
        self._charge = ScriptCalls(self._redis, CHARGE)
        self._adjust = ScriptCalls(self._redis, ADJUST)
        self._publish = self._redis.register_script(STORE_AND_PUBLISH)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._learned: dict[int, float] = {}  # key id -> when its headroom was last published

    # -- shared limits -------------------------------------------------------------------------
    def _call(self, asked: list[tuple[int, int, int, int, int, bool]]) -> Any:
        args: list[Any] = []
        for _limit, emission, tolerance, cost, chunk, _tokens in asked:
            args += (emission / 1000, tolerance / 1000, cost, chunk)
        return self._charge([self._names.limit(a[0]) for a in asked], args)

    async def charge(self, table: Any, d: Any) -> Any:
        """Charge `d.remote` in Redis, all or none: None when the request may go on, else the
        rejection to answer. Redis unreachable: the node's share, charged locally."""
        asked = d.remote
        try:
            reply = await self._call(asked)
        except FAILURES as exc:
            self._degrade(exc)
            return table.charge_locally(d)
        now = time.monotonic_ns()
        if reply[0] == 0:
            limit_id, chunk = asked[reply[1] - 1][0], asked[reply[1] - 1][4]
            wait_ns = int(reply[2]) * 1000
            if chunk:  # lease mode: the cluster has none of it until then
                self._region.lease_settled(limit_id, now + wait_ns)
            return table.refuse(d, limit_id, wait_ns)
        for i, (limit_id, _e, _t, cost, chunk, _tokens) in enumerate(asked):
            if chunk:
                granted, next_wait_us = int(reply[1 + 2 * i]), int(reply[2 + 2 * i])
                self._lease_granted(limit_id, granted - cost, chunk, next_wait_us, now)
        return None

    def _lease_granted(self, limit_id: int, units: int, chunk: int, next_wait_us: int, now: int) -> None:
        if units:
            self._region.lease_credit(limit_id, units)
        # Less than asked for: the cluster has no more of it until its next unit fits.
        self._region.lease_settled(limit_id, 0 if units >= chunk else now + max(next_wait_us, 1) * 1000)

    def refill(self, asked: list[tuple[int, int, int, int, int, bool]]) -> None:
        """Top up leases running low, in the background: the request that noticed goes on."""
        self._spawn(self._refill(asked))

    async def _refill(self, asked: list[tuple[int, int, int, int, int, bool]]) -> None:
        try:
            reply = await self._call(asked)
        except FAILURES as exc:
            self._degrade(exc)
            for a in asked:
                self._region.lease_settled(a[0], 0)
            return
        now = time.monotonic_ns()
        for i, (limit_id, _e, _t, _cost, chunk, _tokens) in enumerate(asked):
            self._lease_granted(limit_id, int(reply[1 + 2 * i]), chunk, int(reply[2 + 2 * i]), now)

    def settle(self, d: Any, actual_tokens: int) -> None:
        """Exact mode: token limits were charged the estimate in Redis; move them by the real use."""
        for limit_id, emission, _t, cost, chunk, tokens in d.remote or ():
            if tokens and not chunk and actual_tokens != cost:
                delta_us = (actual_tokens - cost) * emission / 1000
                self._spawn(self._settle(limit_id, delta_us))

    async def _settle(self, limit_id: int, delta_us: float) -> None:
        try:
            await self._adjust([self._names.limit(limit_id)], [delta_us])
        except FAILURES as exc:
            self._degrade(exc)

    # -- key health ----------------------------------------------------------------------------
    def key_changed(self, key: int, slot: int) -> None:
        """A provider key's health changed here: tell every node."""
        self._spawn(self._store_and_publish(key, slot))

    def key_learned(self, key: int, slot: int) -> None:
        """The provider reported a key's headroom: tell every node, at most every LEARN_EVERY_S."""
        now = time.monotonic()
        if now - self._learned.get(key, 0.0) >= LEARN_EVERY_S:
            self._learned[key] = now
            self.key_changed(key, slot)

    async def _store_and_publish(self, key: int, slot: int) -> None:
        if self._region.cluster_state()[1]:
            return  # degraded: the supervisor publishes this node's keys when Redis is back
        body = ENCODER.encode(record_of(self._region, slot, key, self._node))
        try:
            await self._publish(keys=[self._names.keys], args=[str(key), body, self._names.events])
        except FAILURES as exc:
            self._degrade(exc)

    # -- plumbing ------------------------------------------------------------------------------
    def _spawn(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _degrade(self, exc: BaseException) -> None:
        if not self._region.cluster_state()[1]:
            log.warning("Redis unreachable (%s): serving on this node's share of every limit", exc)
            self._region.set_cluster_state(degraded=1)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self._redis.aclose()
