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
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from .record import FIELDS, Attempt, CallRecord
from .rollup import (
    DAY,
    DIMENSIONS,
    GRAINS,
    HISTOGRAM_COLUMNS,
    LATENCY_BOUNDS_MS,
    MEASURES,
    MINUTE,
    Dimension,
    bucket_start,
)
from .store import Aggregate, CallFilter, CallLog, CallPage, Pruned, Retention

if TYPE_CHECKING:
    from .._native import CallWriter

_COLUMNS = tuple(f for f in FIELDS if f != "id")
_ATTEMPTS = FIELDS.index("attempts")
_STREAMED = FIELDS.index("streamed")
_ONE_ROW = f"({', '.join('?' * len(_COLUMNS))})"
_INSERT_INTO = f"INSERT INTO calls ({', '.join(_COLUMNS)}) VALUES "
_SELECT = f"SELECT id, {', '.join(_COLUMNS)} FROM calls"
_attempts_encoder = msgspec.json.Encoder()
# Rows per INSERT statement: one statement binds and steps many rows, so the per-row cost of a
# statement (and of the AUTOINCREMENT bookkeeping) is paid once per chunk. A batch is cut into
# chunks of these sizes, so only a few statements are ever prepared (and cached by sqlite3).
_CHUNKS = (100, 20, 5, 1)
_decode_attempts = msgspec.json.Decoder(list[Attempt]).decode
_PRUNE_CHUNK = 5000
# Batches are stored by _native.CallWriter; AIGW_PURE_PYTHON=1 selects its reference, `_Writer`.
_NATIVE = os.environ.get("AIGW_PURE_PYTHON") != "1"


_DIMS = ", ".join(DIMENSIONS)
_ROLLUP_COLUMNS = ("grain", "bucket", *DIMENSIONS, *MEASURES, *HISTOGRAM_COLUMNS)
_SUMMED = (*MEASURES, *HISTOGRAM_COLUMNS)
# A batch is rolled up in two steps, both in the batch's transaction. First its records are summed
# per minute and dimensions (`_add_to_rollup`, in C in the native writer: one pass over the records
# the writer holds anyway). Then each of those (usually far fewer) rows is added into its bucket of
# every grain with one upsert: a row whose bucket and dimensions are new is inserted, else its sums
# are added to. No temporary table and no GROUP BY: with many distinct consumers nearly every row
# is new, and those two steps cost more than the upserts themselves. The minute bucket is
# rollup.bucket_start(), int(ts / 60) * 60; an hour's or a day's is that // grain * grain.
_UPSERT = f"""
    INSERT INTO call_rollups ({", ".join(_ROLLUP_COLUMNS)})
    VALUES ({", ".join("?" * len(_ROLLUP_COLUMNS))})
    ON CONFLICT (grain, bucket, {_DIMS}) DO UPDATE SET
        {", ".join(f"{c} = {c} + excluded.{c}" for c in _SUMMED)}
"""
# NORMAL in WAL mode: a power loss may drop the last commits, never corrupt the file.
_SYNCHRONOUS = "PRAGMA synchronous=NORMAL"
_SETUP = (_SYNCHRONOUS,)  # a writer's connection
_TIMEOUT_S = 10.0  # waiting for another process's write lock


class SQLiteCallLog(CallLog):
    """Expects a store already migrated (open it through calllog.backend.open_call_log())."""

    def __init__(self, path: str | os.PathLike[str], *, native: bool = _NATIVE):
        self.path = Path(path)
        self._db = _connect(str(self.path))
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SYNCHRONOUS)
        self._lock = threading.Lock()
        # Within the library's limit on bound parameters (999 before SQLite 3.32).
        most = max(1, self._db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(_COLUMNS))
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
    def calls(self, where: CallFilter, *, cursor: str | None = None, limit: int = 100) -> CallPage:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        clauses, args = _call_filter(where)
        if cursor is not None:
            ts, row_id = parse_cursor(cursor)
            clauses.append("ts <= ? AND (ts < ? OR id < ?)")
            args += [ts, ts, row_id]
        sql = _SELECT + _where(clauses) + " ORDER BY ts DESC, id DESC LIMIT ?"
        with self._lock:
            rows = self._db.execute(sql, [*args, limit + 1]).fetchall()
        records = [_record(r) for r in rows[:limit]]
        more = len(rows) > limit
        return CallPage(calls=records, next_cursor=make_cursor(records[-1]) if more else None)

    def tail(self, where: CallFilter, after_id: int, limit: int = 500) -> list[CallRecord]:
        clauses, args = _call_filter(where)
        clauses.append("id > ?")
        sql = _SELECT + _where(clauses) + " ORDER BY id LIMIT ?"
        with self._lock:
            rows = self._db.execute(sql, [*args, after_id, limit]).fetchall()
        return [_record(r) for r in rows]

    def last_id(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COALESCE(MAX(id), 0) FROM calls").fetchone()[0])

    def aggregate(
        self, grain: int, where: CallFilter, group_by: Sequence[Dimension] = (), by_bucket: bool = False
    ) -> list[Aggregate]:
        unknown = [d for d in group_by if d not in DIMENSIONS]
        if unknown:
            raise ValueError(f"cannot group by {', '.join(unknown)}; choose from {', '.join(DIMENSIONS)}")
        clauses, args = _dimension_filter(where)
        clauses.insert(0, "grain = ?")
        args.insert(0, grain)
        if where.since is not None:
            clauses.append("bucket >= ?")
            args.append(bucket_start(where.since, grain))
        if where.until is not None:
            clauses.append("bucket < ?")
            args.append(where.until)
        keys = [*group_by, *(["bucket"] if by_bucket else [])]
        sums = ", ".join(f"SUM({c})" for c in _SUMMED)
        sql = f"SELECT {', '.join([*keys, sums])} FROM call_rollups" + _where(clauses)
        if keys:
            sql += f" GROUP BY {', '.join(keys)} ORDER BY {', '.join(keys)}"
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        n, m = len(group_by), len(keys)
        out = []
        for r in rows:
            if r[m] is None:  # SUM over no rows (no GROUP BY): nothing matched
                continue
            measures = dict(zip(MEASURES, r[m : m + len(MEASURES)], strict=True))
            out.append(
                Aggregate(
                    group=tuple(r[:n]),
                    bucket=r[n] if by_bucket else None,
                    histogram=list(r[m + len(MEASURES) :]),
                    **measures,
                )
            )
        return out

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


def make_cursor(rec: CallRecord) -> str:
    # The sort key of the last row shown: repr() round-trips a float exactly.
    return f"{rec.ts!r}_{rec.id}"


def parse_cursor(cursor: str) -> tuple[float, int]:
    ts, sep, row_id = cursor.rpartition("_")
    try:
        if not sep:
            raise ValueError
        return float(ts), int(row_id)
    except ValueError:
        raise ValueError(f"invalid cursor {cursor!r}: pass back a next_cursor from a previous page") from None


def _row(rec: CallRecord) -> list[Any]:
    """The record's column values, in _COLUMNS order, each of a type sqlite3 binds as it is: it
    adapts anything else (bytes, bool, None) through two failed attribute lookups per value."""
    values = list(msgspec.structs.astuple(rec))
    attempts = bytearray()  # stored as a BLOB, as bytes would be, without the adaptation
    _attempts_encoder.encode_into(rec.attempts, attempts)
    values[_ATTEMPTS] = attempts
    values[_STREAMED] = 1 if rec.streamed else 0
    del values[0]  # id: the store assigns it
    return values


_dimensions = attrgetter(*DIMENSIONS)
# Positions in a summed row: the minute's bucket, the dimensions, MEASURES, the histogram.
_CALLS = 1 + len(DIMENSIONS)
_ERRORS, _PROMPT, _COMPLETION, _CACHED, _COST, _LATENCY, _UPSTREAM = range(_CALLS + 1, _CALLS + 8)
_HISTOGRAM = _CALLS + len(MEASURES)
assert MEASURES == (
    "calls", "errors", "prompt_tokens", "completion_tokens", "cached_tokens", "cost", "latency_ms_sum",
    "upstream_ms_sum",
)  # fmt: skip
_ZEROS = (0, 0, 0, 0, 0, 0.0, 0.0, 0.0, *([0] * len(HISTOGRAM_COLUMNS)))


def _add_to_rollup(sums: dict[tuple[Any, ...], list[Any]], records: Sequence[CallRecord]) -> None:
    """Add `records` into `sums`, per minute and dimensions, as rows of bucket, dimensions,
    MEASURES and histogram: the sums
    rollups add up (the same as a GROUP BY over the stored rows, without reading them back)."""
    bounds = LATENCY_BOUNDS_MS
    for r in records:
        key = (int(r.ts / MINUTE) * MINUTE, *_dimensions(r))
        row = sums.get(key)
        if row is None:
            row = sums[key] = [*key, *_ZEROS]
        latency = r.latency_ms
        row[_CALLS] += 1
        if r.status >= 400:
            row[_ERRORS] += 1
        row[_PROMPT] += r.prompt_tokens
        row[_COMPLETION] += r.completion_tokens
        row[_CACHED] += r.cached_tokens
        row[_COST] += r.cost
        row[_LATENCY] += latency
        if r.upstream_ms is not None:
            row[_UPSTREAM] += r.upstream_ms
        row[_HISTOGRAM + bisect_left(bounds, latency)] += 1  # rollup.latency_bucket()


class _Writer:
    """Stores batches through Python's sqlite3: the reference of `_native.CallWriter`, which does
    the same in C (tests/native/test_hotpath.py holds what the two store equal)."""

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
                _add_to_rollup(sums, chunk)
                i += size
            for grain in GRAINS.values():
                db.executemany(_UPSERT, [(grain, row[0] // grain * grain, *row[1:]) for row in sums.values()])

    def close(self) -> None:
        self._db.close()


def _native_writer(path: str, inserts: dict[int, str]) -> CallWriter:
    from .._native import CallWriter

    return CallWriter(
        path,
        int(_TIMEOUT_S * 1000),
        _SETUP,
        inserts,
        _UPSERT,
        tuple(GRAINS.values()),
        FIELDS,
        DIMENSIONS,
        LATENCY_BOUNDS_MS,
        _attempts_encoder.encode,
    )


def _record(row: tuple[Any, ...]) -> CallRecord:
    fields = dict(zip(FIELDS, row, strict=True))
    fields["attempts"] = _decode_attempts(fields["attempts"])
    fields["streamed"] = bool(fields["streamed"])
    return CallRecord(**fields)


_ERRORS_FROM = 400  # the partial index calls_errors_ts holds rows with status >= this (migration 6)


def _dimension_filter(where: CallFilter) -> tuple[list[str], list[Any]]:
    """Clauses for the filters rollups can answer too (column names are ours, never a caller's)."""
    clauses: list[str] = []
    args: list[Any] = []
    for column in ("tenant", "app", "key_id", "model", "provider", "upstream_key"):
        value = getattr(where, column)
        if value is not None:
            clauses.append(f"{column} = ?")
            args.append(value)
    if where.status_min is not None:
        clauses.append("status >= ?")
        args.append(where.status_min)
        if where.status_min >= _ERRORS_FROM:
            # The same bound as a literal lets SQLite use the partial index on error rows.
            clauses.append(f"status >= {_ERRORS_FROM}")
    if where.status_max is not None:
        clauses.append("status <= ?")
        args.append(where.status_max)
    return clauses, args


def _call_filter(where: CallFilter) -> tuple[list[str], list[Any]]:
    clauses, args = _dimension_filter(where)
    if where.since is not None:
        clauses.append("ts >= ?")
        args.append(where.since)
    if where.until is not None:
        clauses.append("ts < ?")
        args.append(where.until)
    if where.request_id is not None:
        clauses.append("request_id = ?")
        args.append(where.request_id)
    return clauses, args


def _where(clauses: list[str]) -> str:
    return " WHERE " + " AND ".join(clauses) if clauses else ""
