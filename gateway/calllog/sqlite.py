"""The call log in the embedded SQLite store (tables from migration 3).

Its own connections (the writer's, and one for reads and prunes), apart from the store's config
connection, so a batch insert in the recorder's writer thread never interleaves with a config read
on the event loop. Call-log writes do not bump the store's generation: workers must not rebuild
their tables for every batch.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from ..native import ENABLED as NATIVE
from .record import FIELDS, CallRecord
from .rollup import DAY, DIMENSIONS, GRAINS, LATENCY_BOUNDS_MS, bucket_start
from .sql import COLUMNS, UPSERT, SQLCallLog, add_to_rollup
from .store import Pruned, Retention

if TYPE_CHECKING:
    from .._native import CallWriter

_ATTEMPTS = FIELDS.index("attempts")
_STREAMED = FIELDS.index("streamed")
_ONE_ROW = f"({', '.join('?' * len(COLUMNS))})"
_INSERT_INTO = f"INSERT INTO calls ({', '.join(COLUMNS)}) VALUES "
_attempts_encoder = msgspec.json.Encoder()
# Rows per INSERT statement: one statement binds and steps many rows, so the per-row cost of a
# statement (and of the AUTOINCREMENT bookkeeping) is paid once per chunk. A batch is cut into
# chunks of these sizes, so only a few statements are ever prepared (and cached by sqlite3).
_CHUNKS = (100, 20, 5, 1)
_PRUNE_CHUNK = 5000
# Batches are stored by _native.CallWriter, or by its reference `_Writer` without the compiled core.

# NORMAL in WAL mode: a power loss may drop the last commits, never corrupt the file.
_SYNCHRONOUS = "PRAGMA synchronous=NORMAL"
_SETUP = (_SYNCHRONOUS,)  # a writer's connection
_TIMEOUT_S = 10.0  # waiting for another process's write lock


class SQLiteCallLog(SQLCallLog):
    """Expects a store already migrated (open it through calllog.backend.open_call_log())."""

    def __init__(self, path: str | os.PathLike[str], *, native: bool = NATIVE):
        self.path = Path(path)
        self._db = _connect(str(self.path))
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SYNCHRONOUS)
        self._lock = threading.Lock()
        # Within the library's limit on bound parameters (999 before SQLite 3.32).
        most = max(1, self._db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(COLUMNS))
        chunks = tuple(c for c in _CHUNKS if c <= most) or (1,)
        # Inserts go through a connection of their own (reads and prunes through `_db`).
        inserts = {c: _INSERT_INTO + ", ".join([_ONE_ROW] * c) for c in chunks}
        self._writer = (_native_writer if native else _Writer)(str(self.path), inserts)

    # -- writes --------------------------------------------------------------------------------
    def insert(self, records: Sequence[CallRecord]) -> None:
        if not records:
            return
        with self._lock:
            self._writer.insert(records)

    def prune(self, retention: Retention, now: float) -> Pruned:
        pruned = Pruned()
        if retention.calls_days > 0:
            cutoff = now - retention.calls_days * DAY
            # In chunks, so writers waiting on the lock wait for one chunk, not the whole prune.
            while True:
                with self._transaction() as db:
                    n = db.execute(
                        "DELETE FROM calls WHERE id IN (SELECT id FROM calls WHERE ts < ? LIMIT ?)",
                        (cutoff, _PRUNE_CHUNK),
                    ).rowcount
                pruned.calls += n
                if n < _PRUNE_CHUNK:
                    break
        for grain, days in (
            (GRAINS["minute"], retention.minute_days),
            (GRAINS["hour"], retention.hour_days),
            (GRAINS["day"], retention.day_days),
        ):
            if days > 0:
                with self._transaction() as db:
                    pruned.rollups += db.execute(
                        "DELETE FROM call_rollups WHERE grain = ? AND bucket < ?",
                        (grain, bucket_start(now - days * DAY, grain)),
                    ).rowcount
        return pruned

    # -- reads ---------------------------------------------------------------------------------
    def _rows(self, sql: str, args: Sequence[Any]) -> list[Sequence[Any]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def close(self) -> None:
        with self._lock:
            self._writer.close()
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, _transaction(self._db):
            yield self._db


def _connect(path: str) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None, timeout=_TIMEOUT_S, check_same_thread=False)


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _row(rec: CallRecord) -> list[Any]:
    """The record's column values, in COLUMNS order, each of a type sqlite3 binds as it is: it
    adapts anything else (bytes, bool, None) through two failed attribute lookups per value."""
    values = list(msgspec.structs.astuple(rec))
    attempts = bytearray()  # stored as a BLOB, as bytes would be, without the adaptation
    _attempts_encoder.encode_into(rec.attempts, attempts)
    values[_ATTEMPTS] = attempts
    values[_STREAMED] = 1 if rec.streamed else 0
    del values[0]  # id: the store assigns it
    return values


class _Writer:
    """Stores batches through Python's sqlite3: the reference of `_native.CallWriter`, which does
    the same in C (tests/native/test_calllog_writer.py holds what the two store equal)."""

    def __init__(self, path: str, inserts: dict[int, str]):
        self._db = _connect(path)
        for sql in _SETUP:
            self._db.execute(sql)
        self._inserts = inserts
        self._chunks = tuple(sorted(inserts, reverse=True))

    def insert(self, records: Sequence[CallRecord]) -> None:
        sums: dict[tuple[Any, ...], list[Any]] = {}
        db = self._db
        with _transaction(db):
            # Chunk by chunk: the Python work of one chunk (its rows, its rollup sums) holds the
            # GIL for a fraction of a millisecond, and SQLite releases it while the chunk steps,
            # so the worker's event loop never waits behind the whole batch.
            i, n = 0, len(records)
            while i < n:
                size = next(c for c in self._chunks if c <= n - i)
                chunk = records[i : i + size]
                params: list[Any] = []
                for rec in chunk:
                    params += _row(rec)
                db.execute(self._inserts[size], params)
                add_to_rollup(sums, chunk)
                i += size
            for grain in GRAINS.values():
                db.executemany(UPSERT, [(grain, row[0] // grain * grain, *row[1:]) for row in sums.values()])

    def close(self) -> None:
        self._db.close()


def _native_writer(path: str, inserts: dict[int, str]) -> CallWriter:
    from .._native import CallWriter

    return CallWriter(
        path,
        int(_TIMEOUT_S * 1000),
        _SETUP,
        inserts,
        UPSERT,
        tuple(GRAINS.values()),
        FIELDS,
        DIMENSIONS,
        LATENCY_BOUNDS_MS,
        _attempts_encoder.encode,
    )
