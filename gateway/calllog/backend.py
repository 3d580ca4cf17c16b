"""The call log of a store: the call log sits above the store and keeps its records in the
store's database (the tables are the store's migrations); the store knows nothing of it."""

from __future__ import annotations

from ..store import SQLiteStore, Store
from .store import CallLog


def open_call_log(store: Store) -> CallLog:
    """A new handle on `store`'s call log and its rollups, with connections of its own; the caller
    closes it."""
    if isinstance(store, SQLiteStore):
        from .sqlite import SQLiteCallLog

        return SQLiteCallLog(store.path)
    from ..store.postgres import PostgresStore  # asyncpg is loaded only where it is used

    if isinstance(store, PostgresStore):
        from .postgres import PostgresCallLog

        # On the store's own connections: it lives as long as the store.
        return PostgresCallLog(store.database)
    raise TypeError(f"{type(store).__name__} keeps no call log")
