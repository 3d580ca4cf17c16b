from .base import Ambiguous, Conflict, NotFound, Store, StoreUnavailable
from .sqlite import SQLiteStore, default_store_path

__all__ = [
    "Ambiguous",
    "Conflict",
    "NotFound",
    "SQLiteStore",
    "Store",
    "StoreUnavailable",
    "default_store_path",
    "open_store",
]


def open_store(url: str = "", path: str = "") -> Store:
    """The store a config names: PostgreSQL at `url` (a cluster's shared store), else the SQLite
    file at `path` (empty: the default location)."""
    if url:
        from .postgres import PostgresStore  # asyncpg is loaded only where it is used

        return PostgresStore(url)
    return SQLiteStore(path or None)
