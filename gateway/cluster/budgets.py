"""Budgets across the cluster. A budget's counter stays in each node's shared memory, where
admission charges it; the supervisor adds what its node used since the last sync to the cluster's
total in Redis and sets the counter to that total, every `cluster.budget_sync_s`. So a budget
holds across the cluster to within what the cluster uses in one sync interval."""

from __future__ import annotations

from typing import Any

from ..admission import budgets as periods
from ..store.records import BudgetRecord
from .names import Names

# Add this node's usage (ARGV[1]) to the total, or — the total being gone (a Redis that lost its
# data, a new period) — start it from this node's whole view (ARGV[2]). ARGV[3]: expiry, Unix ms
# (0: never). Returns the total.
ADD = """
local total
if redis.call('EXISTS', KEYS[1]) == 1 then
  total = redis.call('INCRBY', KEYS[1], ARGV[1])
else
  total = tonumber(ARGV[2])
  redis.call('SET', KEYS[1], total)
end
if tonumber(ARGV[3]) > 0 then redis.call('PEXPIREAT', KEYS[1], ARGV[3]) end
return total
"""
# Kept a day past its period's end, for anyone reading it late.
KEEP_S = 86400


class BudgetSync:
    def __init__(self, redis: Any, names: Names, region: Any):
        self._add = redis.register_script(ADD)
        self._names = names
        self._region = region
        # (budget id, period) -> the total this node last set its counter to
        self._synced: dict[tuple[int, int], int] = {}

    async def sync(self, records: list[BudgetRecord], wall_s: int) -> None:
        for b in records:
            index = periods.period_index(b.period, wall_s)
            used = self._region.budget_used(b.id, index)
            base = self._synced.get((b.id, index))
            delta = used - base if base is not None else 0
            ends = periods.resets_at(b.period, index)
            expiry_ms = (ends + KEEP_S) * 1000 if ends is not None else 0
            total = int(
                await self._add(keys=[self._names.budget(b.id, index)], args=[delta, used, expiry_ms])
            )
            # The counter becomes the total, plus what workers charged while we were asking.
            self._region.seed_budget(b.id, index, total - used)
            self._synced[(b.id, index)] = total
        current = {(b.id, periods.period_index(b.period, wall_s)) for b in records}
        for gone in self._synced.keys() - current:
            del self._synced[gone]
