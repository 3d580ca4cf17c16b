from .base import Ambiguous, Conflict, NotFound, Store
from .sqlite import SQLiteStore, default_store_path

__all__ = ["Ambiguous", "Conflict", "NotFound", "SQLiteStore", "Store", "default_store_path"]


def open_store(path: str = "") -> Store:
    """The store a config names (empty: the default location)."""
    return SQLiteStore(path or None)
