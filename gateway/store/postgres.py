"""The shared store of a cluster: PostgreSQL through asyncpg, behind the same interface as SQLite.

The store's interface is synchronous (the CLI, the admin API and the workers' reloads call it
as they call SQLite), and asyncpg is asynchronous: each PostgresDatabase runs its own event loop
in a thread of its own, with a small pool of connections, and a call from any other thread waits
for its statement there. A worker's event loop never does: it reads the generation from memory
(kept current by LISTEN/NOTIFY below), loads snapshots in an executor thread and writes call
records from the recorder's writer thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from .base import StoreUnavailable
from .database import Database, Duplicate, Row
from .generation import READ
from .migrations import migrations
from .records import Snapshot
from .sealing import Sealer
from .sql import SQLStore

log = logging.getLogger("aigw.store")

T = TypeVar("T")

# Every bump of the generation is announced on this channel (a trigger on `meta`, migration 1).
CHANNEL = "aigw_generation"
FOLLOWER = "aigw-generation"  # the listening connection's application_name (pg_stat_activity)
# How often a follower reads the generation anyway: a lost connection, or a notification missed
# while reconnecting, costs at most this long.
RECHECK_S = 5.0
# Advisory lock keys: migrations run one process at a time.
MIGRATIONS_LOCK = 0x616967770001
POOL_SIZE = 4
# What a statement raises when the server is gone, shutting down, or refuses new connections.
UNREACHABLE = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.TooManyConnectionsError,
)
CONNECT_TIMEOUT_S = 10.0


def redacted(url: str) -> str:
    """`url` without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


@functools.lru_cache(maxsize=512)
def numbered(sql: str) -> str:
    """`?` placeholders as PostgreSQL's `$1, $2, …` (our statements hold no literal `?`)."""
    pieces = sql.split("?")
    return pieces[0] + "".join(f"${i}{piece}" for i, piece in enumerate(pieces[1:], 1))


def _changed(status: str) -> int:
    """Rows a command changed, from its status ("UPDATE 3", "INSERT 0 1", "DELETE 0")."""
    last = status.rpartition(" ")[2]
    return int(last) if last.isdigit() else 0


class PostgresDatabase(Database):
    dialect = "postgresql"

    def __init__(self, url: str, pool_size: int = POOL_SIZE):
        self.url = url
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="aigw-postgres", daemon=True)
        self._thread.start()
        self._local = threading.local()  # the connection of the calling thread's transaction
        try:
            self.pool: asyncpg.Pool = self.call(self._connect(pool_size))
        except BaseException:
            self._stop_loop()
            raise

    async def _connect(self, pool_size: int) -> asyncpg.Pool:
        try:
            return await asyncpg.create_pool(
                self.url,
                min_size=1,
                max_size=pool_size,
                timeout=CONNECT_TIMEOUT_S,
                server_settings={"application_name": "aigw"},
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            raise StoreUnavailable(f"cannot open the PostgreSQL store {redacted(self.url)}: {exc}") from None

    # -- running coroutines on the database's own loop ---------------------------------------------
    def call(self, work: Awaitable[T]) -> T:
        """Run `work` on the database's loop and wait for its result. A server out of reach is
        StoreUnavailable, whatever the step that found it."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("a PostgresDatabase cannot wait for itself: await the coroutine instead")
        try:
            return self.submit(work).result()
        except UNREACHABLE as exc:
            raise StoreUnavailable(
                f"the PostgreSQL store {redacted(self.url)} cannot be reached: {exc}"
            ) from None

    def submit(self, work: Awaitable[T]) -> concurrent.futures.Future[T]:
        """Start `work` on the database's loop without waiting for it."""

        async def run() -> T:
            return await work

        return asyncio.run_coroutine_threadsafe(run(), self._loop)

    def _target(self) -> asyncpg.Pool | asyncpg.Connection:
        conn: asyncpg.Connection | None = getattr(self._local, "conn", None)
        return conn if conn is not None else self.pool

    # -- Database ----------------------------------------------------------------------------------
    def one(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        row: Row | None = self.call(self._target().fetchrow(numbered(sql), *args))
        return row

    def all(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        rows: list[Row] = self.call(self._target().fetch(numbered(sql), *args))
        return rows

    def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        return _changed(self.call(self._unique(self._target().execute(numbered(sql), *args))))

    def insert(self, sql: str, args: Sequence[Any] = ()) -> int:
        return int(self.call(self._unique(self._target().fetchval(numbered(sql) + " RETURNING id", *args))))

    def run_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.call(self._unique(self._target().executemany(numbered(sql), list(rows))))

    @staticmethod
    async def _unique(work: Awaitable[T]) -> T:
        try:
            return await work
        except asyncpg.UniqueViolationError as exc:
            raise Duplicate(str(exc)) from None

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._transaction(isolation="read_committed"):
            yield

    @contextmanager
    def read(self) -> Iterator[None]:
        # One view of the data for every statement of the block.
        with self._transaction(isolation="repeatable_read", readonly=True):
            yield

    @contextmanager
    def _transaction(self, **options: Any) -> Iterator[None]:
        if getattr(self._local, "conn", None) is not None:
            raise RuntimeError("store transactions do not nest")
        conn: asyncpg.Connection = self.call(self.pool.acquire())
        try:
            transaction = conn.transaction(**options)
            self.call(transaction.start())
            self._local.conn = conn
            try:
                yield
            except BaseException:
                self.call(transaction.rollback())
                raise
            self.call(transaction.commit())
        finally:
            self._local.conn = None
            self.call(self.pool.release(conn))

    def migrate(self) -> None:
        self.call(self._migrate())

    async def _migrate(self) -> None:
        """Bring the schema to the newest version this aigw knows, in one transaction, one process
        at a time (nodes starting together wait for the first); refuse a newer schema."""
        steps = migrations(self.dialect)
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATIONS_LOCK)
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
                "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            current = await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
            if current > len(steps):
                raise RuntimeError(
                    f"{redacted(self.url)}: schema version {current} is newer than this aigw knows "
                    f"({len(steps)}); upgrade aigw"
                )
            for step in steps[current:]:
                await conn.execute(step.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", step.version, step.name
                )

    def schema_version(self) -> int:
        return int(self.call(self.pool.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")))

    def close(self) -> None:
        try:
            self.call(self.pool.close())
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


class PostgresStore(SQLStore):
    """The store in a PostgreSQL database that every node of a cluster shares."""

    def __init__(self, url: str):
        db = PostgresDatabase(url)
        try:
            db.migrate()
        except BaseException:
            db.close()
            raise
        super().__init__(db)
        self.url = url
        self.database = db
        self._known = 0
        self._known_lock = threading.Lock()
        self._follower: concurrent.futures.Future[None] | None = None

    def schema_version(self) -> int:
        return self.database.schema_version()

    def _make_sealer(self) -> Sealer:
        return Sealer.for_store(None)

    # -- the generation, followed instead of read -----------------------------------------------
    def generation(self) -> int:
        """The newest generation this process knows of: a read from memory once a follower
        listens for changes (every node's writes notify it), so a worker's event loop can ask as
        often as it likes. The first call, in a process that has not loaded a snapshot, reads it."""
        if self._follower is None:
            self._note(self._read_generation())
            self._follow()
        return self._known

    def snapshot(self) -> Snapshot:
        snapshot = super().snapshot()
        self._note(snapshot.generation)
        if self._follower is None:
            self._follow()
        return snapshot

    def _write(self, fn: Callable[[], T]) -> T:
        result = super()._write(fn)
        self._note(self._read_generation())  # this process knows its own change at once
        return result

    def _note(self, generation: int) -> None:
        with self._known_lock:
            self._known = max(self._known, generation)

    def _follow(self) -> None:
        self._follower = self.database.submit(self._listen())

    async def _listen(self) -> None:
        delay = 0.25
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(
                    self.url, timeout=CONNECT_TIMEOUT_S, server_settings={"application_name": FOLLOWER}
                )
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _conn, event=lost: event.set())
                await conn.add_listener(CHANNEL, self._notified)
                # Read after LISTEN: a change made before it is in this value, any after it notifies.
                self._note(await conn.fetchval(READ))
                delay = 0.25
                while True:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), RECHECK_S)
                    if lost.is_set():
                        raise ConnectionError("the server closed the listening connection")
                    self._note(await asyncio.wait_for(conn.fetchval(READ), RECHECK_S))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("following the store's generation failed (%s); reconnecting in %gs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECHECK_S)
            finally:
                if conn is not None:
                    conn.terminate()

    def _notified(self, conn: object, pid: int, channel: str, payload: str) -> None:
        self._note(int(payload))

    def close(self) -> None:
        if self._follower is not None:
            self._follower.cancel()
        super().close()
