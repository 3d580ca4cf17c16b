"""The SQL connection the store's modules run on, whichever server is behind it.

Statements are written once, with `?` placeholders, in SQL that SQLite and PostgreSQL both accept;
each backend (gateway/store/sqlite.py, postgres.py) runs them its own way.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any

# A result row: a tuple (SQLite) or an asyncpg Record (PostgreSQL), read by position.
Row = Sequence[Any]


class Duplicate(Exception):
    """A row with the same unique key exists (the backend's integrity error, translated)."""


class Database(ABC):
    """One connection's worth of work at a time per thread. Outside a transaction each statement
    commits on its own; inside `write()` or `read()` every statement of the calling thread joins
    that transaction."""

    dialect: str

    @abstractmethod
    def one(self, sql: str, args: Sequence[Any] = ()) -> Row | None: ...

    @abstractmethod
    def all(self, sql: str, args: Sequence[Any] = ()) -> list[Row]: ...

    @abstractmethod
    def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        """Execute a change; returns how many rows it changed (raises Duplicate on a unique key)."""

    @abstractmethod
    def insert(self, sql: str, args: Sequence[Any] = ()) -> int:
        """Insert one row into a table with an `id` column; returns the row's new id."""

    @abstractmethod
    def run_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    @abstractmethod
    def write(self) -> AbstractContextManager[None]:
        """A transaction that writes: committed when the block ends, rolled back if it raises."""

    @abstractmethod
    def read(self) -> AbstractContextManager[None]:
        """A transaction that only reads, from one consistent view of the data."""

    @abstractmethod
    def close(self) -> None: ...


def where(filters: dict[str, Any]) -> tuple[str, list[Any]]:
    """A WHERE clause for the filters that are set (column names are ours, never the caller's)."""
    given = {column: value for column, value in filters.items() if value is not None}
    clause = " WHERE " + " AND ".join(f"{column} = ?" for column in given) if given else ""
    return clause, list(given.values())


def marks(n: int) -> str:
    """`?, ?, …` for an IN list of n values."""
    return ", ".join("?" * n)
