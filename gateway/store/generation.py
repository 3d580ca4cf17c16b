"""The generation counter: every change to the store bumps it in the same transaction, which is
how every worker learns that its tables are stale."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from .database import Database

T = TypeVar("T")

BUMP = "UPDATE meta SET value = value + 1 WHERE key = 'generation'"
READ = "SELECT value FROM meta WHERE key = 'generation'"


class StorePart:
    """What every part of the SQL store shares: its connection and its write transaction."""

    _db: Database

    def _write(self, fn: Callable[[], T]) -> T:
        with self._db.write():
            # The bump comes first: it locks the generation's row, so writers in every process (on
            # PostgreSQL, of every node) take turns, and each sees what the one before it wrote.
            self._db.run(BUMP)
            return fn()

    def generation(self) -> int:
        return self._read_generation()

    def bump_generation(self) -> int:
        return self._write(self._read_generation)

    def _read_generation(self) -> int:
        row = self._db.one(READ)
        assert row is not None, "the store has no generation row"
        return int(row[0])
