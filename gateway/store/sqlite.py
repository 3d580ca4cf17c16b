"""The embedded store: one SQLite file in WAL mode, shared by the CLI, the admin listener and
every worker (each process opens its own connection)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .database import Database, Duplicate, Row
from .migrations import migrations, statements
from .sealing import Sealer
from .sql import SQLStore


def default_store_path() -> Path:
    """$AIGW_HOME/aigw.db, or ./var/aigw.db without AIGW_HOME (made absolute: every process of a
    node, started from the same directory, opens the same file)."""
    home = os.environ.get("AIGW_HOME")
    return (Path(home) / "aigw.db" if home else Path("var") / "aigw.db").absolute()


class SQLiteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, path: Path):
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves so writers never deadlock.
        self._db = sqlite3.connect(path, isolation_level=None, timeout=10.0, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")

    def one(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        row: Row | None = self._db.execute(sql, args).fetchone()
        return row

    def all(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        return self._db.execute(sql, args).fetchall()

    def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        return self._execute(sql, args).rowcount

    def insert(self, sql: str, args: Sequence[Any] = ()) -> int:
        return int(self._execute(sql, args).lastrowid or 0)

    def run_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._db.executemany(sql, rows)

    @contextmanager
    def write(self) -> Iterator[None]:
        # IMMEDIATE: the write lock is taken at BEGIN, so two writers never deadlock upgrading.
        with self._transaction("BEGIN IMMEDIATE"):
            yield

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._transaction("BEGIN"):
            yield

    def close(self) -> None:
        self._db.close()

    @property
    def user_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self, where: Path) -> None:
        """Bring the schema to the newest version this aigw knows, step by step, in one
        transaction; refuse a store made by a newer aigw."""
        steps = migrations(self.dialect)
        with self.write():
            current = self.user_version
            if current > len(steps):
                raise RuntimeError(
                    f"{where}: schema version {current} is newer than this aigw knows ({len(steps)}); "
                    "upgrade aigw"
                )
            for step in steps[current:]:
                for statement in statements(step.sql):
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {step.version}")

    def _execute(self, sql: str, args: Sequence[Any]) -> sqlite3.Cursor:
        try:
            return self._db.execute(sql, args)
        except sqlite3.IntegrityError as exc:
            if "UNIQUE constraint failed" in str(exc):
                raise Duplicate(str(exc)) from None
            raise

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[None]:
        self._db.execute(begin)
        try:
            yield
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise


class SQLiteStore(SQLStore):
    def __init__(self, path: str | os.PathLike[str] | None = None):
        self.path = Path(path).absolute() if path else default_store_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = SQLiteDatabase(self.path)
        try:
            db.migrate(self.path)
        except BaseException:
            db.close()
            raise
        super().__init__(db)
        self._sqlite = db

    def schema_version(self) -> int:
        return self._sqlite.user_version

    def _make_sealer(self) -> Sealer:
        return Sealer.for_store(self.path)
