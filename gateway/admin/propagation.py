"""A change made through the admin API that the data plane serves (a consumer key, a revocation, a
subscription decision, a service version, limits, budgets, provider keys) is answered once every
live worker serves it, so a key just created is never refused by a worker that has not loaded it.

Every store write bumps the store's generation; each worker publishes the generation its tables
were built from in its row of the node's shared region (gateway/dataplane/tables.py). After such a
write the admin listener waits, bounded, until the oldest generation a live worker serves has
reached the store's, and says in two headers which generation holds the change and whether every
worker served it by the time of the answer. A worker that was slower (a rebuild on a loaded
machine, a reload that failed) loads it at its next successful reload; `GET /ready` reports
`loaded_generation`, the oldest generation every worker serves.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from ..store import Store
from .routes import APPLIED_HEADER, GENERATION_HEADER

# How often the listener looks at the workers' rows while it waits: a read of a few words.
_POLL_S = 0.005


def settle_timeout_s(reload_interval_s: float) -> float:
    """How long a change may take to reach every worker before the answer says it has not: four
    chances to see it, and a second for a large rebuild."""
    return 4 * reload_interval_s + 1.0


class Propagation:
    def __init__(self, store: Store, region: Any, reload_interval_s: float):
        self._store = store
        self._region = region
        self.timeout_s = settle_timeout_s(reload_interval_s)

    def loaded_generation(self) -> int | None:
        """The oldest generation a live worker serves (None: no worker holds a row)."""
        return None if self._region is None else min(self._region.loaded_generations(), default=None)

    async def served(self, generation: int) -> bool:
        """Wait until every live worker serves `generation` or later; False if the bound passed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        while True:
            loaded = self.loaded_generation()
            if loaded is None or loaded >= generation:
                return True
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(_POLL_S)

    async def settle(self, response: web.StreamResponse) -> None:
        """Hold a successful change's answer until every worker serves it, and say so."""
        if self._region is None:
            return  # no node's workers to wait for (a listener outside a node)
        generation = self._store.generation()  # the write's, or a later one
        applied = await self.served(generation)
        response.headers[GENERATION_HEADER] = str(generation)
        response.headers[APPLIED_HEADER] = "true" if applied else "false"
