"""The store over SQL, written once for every backend: its parts by concern, and the snapshot the
data plane loads. A backend (sqlite.py, postgres.py) gives it a Database and a data key."""

from __future__ import annotations

from .access import Access
from .base import Store
from .budgets import Budgets
from .consumer_keys import ConsumerKeys
from .database import Database
from .limits import Limits
from .records import Snapshot
from .services import Services
from .upstream_keys import UpstreamKeys


class SQLStore(ConsumerKeys, Limits, Budgets, Access, Services, UpstreamKeys, Store):
    def __init__(self, db: Database):
        self._db = db

    def snapshot(self) -> Snapshot:
        """Everything the data plane needs to admit requests, read in one transaction: the
        generation and what it counts always belong together."""
        with self._db.read():
            generation = self._read_generation()
            keys = self._active_keys()
            limits = self.list_limits()
            services, grants = self._served()
            budgets = self.list_budgets()
            upstream = self.upstream_secrets()
        return Snapshot(
            generation=generation,
            keys=keys,
            limits=limits,
            services=services,
            grants=grants,
            upstream_keys=upstream,
            budgets=budgets,
        )

    def close(self) -> None:
        self._db.close()
