"""The call log in the cluster's PostgreSQL store (tables from its migrations 2 to 4), read by
every node.

A batch is written in one transaction, and written again changes nothing: its records go by one
binary COPY into a temporary table, from which those not stored yet (a record's
`(request_id, ts)` is unique) are inserted; the rollups add up the records inserted, with
upserts in one order that every writer shares. The insert, the rollups and the commit happen
under a lock every writer takes in turn, so row ids are handed out in the order batches commit
and following the log by id misses none. `calls` is partitioned by UTC day: a writer creates the
partitions of the days it writes (and of today and tomorrow) before its first record there, and
retention drops whole days.

Runs on the store's own loop and connections (gateway/store/postgres.py): `insert` is called from
the recorder's writer thread and waits there, never on a worker's event loop.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec

from ..store.postgres import PostgresDatabase, numbered
from .record import CallRecord
from .rollup import DAY, GRAINS, bucket_start
from .sql import COLUMNS, UPSERT, SQLCallLog, add_to_rollup
from .store import Pruned, Retention

# Advisory lock keys: records are copied one batch at a time; partitions are made and dropped by
# one process at a time.
CALLS_LOCK = 0x616967770002
PARTITIONS_LOCK = 0x616967770003
_attempts = msgspec.json.Encoder()
Row = tuple[Any, ...]
_UPSERT = numbered(UPSERT)
# Each connection's own staging table, emptied at every commit.
_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS calls_in ON COMMIT DELETE ROWS AS "
    f"SELECT {', '.join(COLUMNS)} FROM calls WITH NO DATA"
)
_INSERT_NEW = (
    f"INSERT INTO calls ({', '.join(COLUMNS)}) SELECT {', '.join(COLUMNS)} FROM calls_in "
    "ON CONFLICT (request_id, ts) DO NOTHING RETURNING request_id, ts"
)


def partition_name(day: int) -> str:
    """calls_YYYYMMDD for the UTC day `day` (days since 1970)."""
    return "calls_" + datetime.fromtimestamp(day * DAY, UTC).strftime("%Y%m%d")


def _day_of(name: str) -> int | None:
    try:
        when = datetime.strptime(name.removeprefix("calls_"), "%Y%m%d").replace(tzinfo=UTC)
    except ValueError:
        return None
    return int(when.timestamp()) // DAY


def _row(rec: CallRecord) -> Row:
    values = list(msgspec.structs.astuple(rec))[1:]  # without the id: the sequence assigns it
    values[COLUMNS.index("attempts")] = _attempts.encode(rec.attempts).decode()
    return tuple(values)


class PostgresCallLog(SQLCallLog):
    """Lives as long as the store it was opened on (open it through calllog.backend)."""

    def __init__(self, db: PostgresDatabase):
        self._db = db
        self._partitions: set[int] = set()  # days whose partition this process knows exists

    # -- writes --------------------------------------------------------------------------------
    def insert(self, records: Sequence[CallRecord]) -> None:
        """Store the records not stored yet, and add those to the rollups: idempotent."""
        if not records:
            return
        days = {int(r.ts // DAY) for r in records}
        try:
            self._db.call(self._insert(records, days))
        except asyncpg.CheckViolationError:
            # No partition for a day this process thought had one (another node's retention
            # dropped it): learn them again, once.
            self._partitions.clear()
            self._db.call(self._insert(records, days))

    async def _insert(self, records: Sequence[CallRecord], days: set[int]) -> None:
        await self._ensure_partitions(days)
        async with self._db.pool.acquire() as conn, conn.transaction():
            await conn.execute(_STAGING)
            await conn.copy_records_to_table("calls_in", records=[_row(r) for r in records], columns=COLUMNS)
            await conn.execute("SELECT pg_advisory_xact_lock($1)", CALLS_LOCK)
            stored = {(r[0], r[1]) for r in await conn.fetch(_INSERT_NEW)}
            fresh = [r for r in records if (r.request_id, r.ts) in stored]
            sums: dict[tuple[Any, ...], list[Any]] = {}
            add_to_rollup(sums, fresh)
            rollups = sorted(
                (grain, row[0] // grain * grain, *row[1:])
                for grain in GRAINS.values()
                for row in sums.values()
            )
            await conn.executemany(_UPSERT, rollups)

    async def _ensure_partitions(self, days: set[int]) -> None:
        today = int(time.time() // DAY)
        wanted = days | {today, today + 1}  # tomorrow's too: midnight never waits for DDL
        missing = wanted - self._partitions
        if not missing:
            return
        async with self._db.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", PARTITIONS_LOCK)
            for day in sorted(missing):
                await conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {partition_name(day)} PARTITION OF calls "
                    f"FOR VALUES FROM ({day * DAY}) TO ({(day + 1) * DAY})"
                )
        self._partitions |= missing

    def prune(self, retention: Retention, now: float) -> Pruned:
        return self._db.call(self._prune(retention, now))

    async def _prune(self, retention: Retention, now: float) -> Pruned:
        pruned = Pruned()
        async with self._db.pool.acquire() as conn:
            if retention.calls_days > 0:
                cutoff = now - retention.calls_days * DAY
                async with conn.transaction():
                    await conn.execute("SELECT pg_advisory_xact_lock($1)", PARTITIONS_LOCK)
                    names = await conn.fetch(
                        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                        "WHERE i.inhparent = 'calls'::regclass"
                    )
                    for (name,) in names:
                        day = _day_of(name)
                        if day is not None and (day + 1) * DAY <= cutoff:
                            # A whole day past retention: its partition goes, with no row by row delete.
                            pruned.calls += await conn.fetchval(f"SELECT count(*) FROM {name}")
                            await conn.execute(f"DROP TABLE {name}")
                            self._partitions.discard(day)
                # What remains before the cutoff lies in the partition of the cutoff's day.
                deleted = await conn.execute("DELETE FROM calls WHERE ts < $1", cutoff)
                pruned.calls += int(deleted.rpartition(" ")[2])
            for grain, days in (
                (GRAINS["minute"], retention.minute_days),
                (GRAINS["hour"], retention.hour_days),
                (GRAINS["day"], retention.day_days),
            ):
                if days > 0:
                    deleted = await conn.execute(
                        "DELETE FROM call_rollups WHERE grain = $1 AND bucket < $2",
                        grain,
                        bucket_start(now - days * DAY, grain),
                    )
                    pruned.rollups += int(deleted.rpartition(" ")[2])
        await self._ensure_partitions(set())  # today's and tomorrow's, made ahead of the writers
        return pruned

    # -- reads ---------------------------------------------------------------------------------
    def _rows(self, sql: str, args: Sequence[Any]) -> list[Sequence[Any]]:
        return self._db.all(sql, args)

    def close(self) -> None:
        """Nothing of its own to close: the connections are the store's."""
