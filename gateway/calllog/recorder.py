"""Per-worker call recorder: `record()` on the hot path only appends to a bounded buffer; a
background task drains it into the call log in batches, in a thread, so the event loop never
waits on disk.

Durability: records reach disk at least every `flush_interval_s` (or as soon as `batch_size` are
waiting), so a crashed worker loses at most that much. `close()` flushes everything.

With a journal (the cluster's PostgreSQL store: gateway/calllog/journal.py) the buffer is the
journal on local disk: `record()` appends each record to it, so a crash loses none, and a batch
the store cannot take stays there until it can (`insert` must then be idempotent).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from .journal import Journal, orphans
from .record import CallRecord
from .store import CallLog

log = logging.getLogger("aigw.calllog")

# One transaction at most this big, so one slow batch does not hold the write lock for long.
MAX_TRANSACTION = 2000


# How much lower the writer thread's CPU priority is than the event loop's (Linux nice steps).
# Worker and writer share a core: at the same priority the scheduler lets a writer's burst of
# SQLite work run on while requests wait; below it, the loop preempts the writer as soon as a
# request arrives, and the writer catches up in the gaps (it needs a small share of the core).
WRITER_NICENESS = 10


def _lower_priority() -> None:
    """Run in the writer thread as it starts. Linux only: there a thread has a nice value of its
    own, set through its native id; elsewhere that id is not a process id and nothing is done."""
    if sys.platform.startswith("linux"):
        try:
            me = threading.get_native_id()
            niceness = os.getpriority(os.PRIO_PROCESS, me) + WRITER_NICENESS
            os.setpriority(os.PRIO_PROCESS, me, min(19, niceness))  # 19: the lowest there is
        except OSError:
            log.warning("could not lower the call-log writer's CPU priority", exc_info=True)


class Recorder:
    def __init__(
        self,
        sink: CallLog,
        *,
        capacity: int = 10_000,
        flush_interval_s: float = 1.0,
        batch_size: int = 500,
        on_drop: Callable[[str, int], None] | None = None,
        journal: Journal | None = None,
    ):
        self._sink = sink
        self._journal = journal
        self._unreachable = False  # the store failed the last batch: said once, retried each tick
        self._buffer: deque[CallRecord] = deque()
        self._capacity = capacity
        self._interval = flush_interval_s
        self._batch = batch_size
        # Told (reason, count) about every record lost: "buffer_full", "write_error" or "closed".
        self._on_drop = on_drop
        self.dropped = 0
        self.written = 0
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        # One thread: batches are written in order and never compete with each other for the lock.
        # It yields the core to the event loop (WRITER_NICENESS).
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="aigw-calllog", initializer=_lower_priority)

    @property
    def pending(self) -> int:
        """Records buffered, not yet handed to the writer (journaled, not yet in the store)."""
        return self._journal.pending if self._journal is not None else len(self._buffer)

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        loop = loop or asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._task = loop.create_task(self._run())

    def record(self, rec: CallRecord) -> None:
        """Buffer one record. Never blocks, never raises: a full buffer drops it and counts it."""
        if self._journal is not None:
            self._journaled(rec)
            return
        try:
            buffer = self._buffer
            n = len(buffer)
            if n < self._capacity and not self._closing:
                buffer.append(rec)
                if n + 1 == self._batch and self._wake is not None:
                    self._wake.set()
            else:
                self._drop("closed" if self._closing else "buffer_full", 1)
        except Exception:  # the request path must not fail because of its log record
            log.exception("call record %s lost", getattr(rec, "request_id", "?"))

    def _journaled(self, rec: CallRecord) -> None:
        assert self._journal is not None
        try:
            if self._closing or not self._journal.append(rec):
                self._drop("closed" if self._closing else "spool_full", 1)
            elif self._journal.pending == self._batch and self._wake is not None:
                self._wake.set()
        except Exception:  # the request path must not fail because of its log record
            log.exception("call record %s lost", getattr(rec, "request_id", "?"))
            self._drop("write_error", 1)

    async def flush(self) -> None:
        """Write everything buffered now (tests, and close())."""
        if self._journal is not None:
            await self._flush_journal(self._journal)
            return
        loop = asyncio.get_running_loop()
        while self._buffer:
            n = min(len(self._buffer), MAX_TRANSACTION)
            batch = [self._buffer.popleft() for _ in range(n)]
            try:
                await loop.run_in_executor(self._executor, self._sink.insert, batch)
                self.written += n
            except Exception:
                log.exception("could not store %d call record(s)", n)
                self._drop("write_error", n)

    async def _flush_journal(self, journal: Journal) -> None:
        loop = asyncio.get_running_loop()
        try:
            # What workers that died left behind first, then this worker's own, oldest first.
            await loop.run_in_executor(self._executor, self._adopt, journal.directory)
            while True:
                segment, batch, offset = await loop.run_in_executor(
                    self._executor, journal.read, MAX_TRANSACTION
                )
                if segment is None:
                    break
                if batch:
                    await loop.run_in_executor(self._executor, self._sink.insert, batch)
                journal.written(segment, offset, len(batch))
                self.written += len(batch)
        except Exception as exc:
            if not self._unreachable:
                log.warning(
                    "the call log cannot take records (%s); %d kept in the journal until it can",
                    exc,
                    journal.pending,
                )
            self._unreachable = True
            return
        if self._unreachable:
            log.warning("the call log takes records again; the journal is written out")
        self._unreachable = False

    def _adopt(self, directory: str) -> None:
        """Write out and remove the journal segments no live writer holds (in the writer thread)."""
        for segment in orphans(directory):
            done = False
            try:
                while True:
                    batch, offset = segment.read(1 << 62, MAX_TRANSACTION)
                    if not batch:
                        break
                    self._sink.insert(batch)
                    segment.mark_done(offset)
                    self.written += len(batch)
                done = True
            finally:
                segment.close(remove=done)

    async def close(self) -> None:
        """Stop taking records, write every buffered one, stop the writer (graceful shutdown).
        With a journal, what the store cannot take now stays in it for the next writer."""
        self._closing = True
        if self._task is not None:
            if self._wake is not None:
                self._wake.set()
            await self._task
            self._task = None
        await self.flush()
        self._executor.shutdown(wait=True)
        if self._journal is not None:
            self._journal.close()

    async def _run(self) -> None:
        assert self._wake is not None
        while not self._closing:
            if self.pending < self._batch or self._unreachable:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._interval)
                self._wake.clear()
            await self.flush()

    def _drop(self, reason: str, n: int) -> None:
        self.dropped += n
        if self._on_drop is not None:
            try:
                self._on_drop(reason, n)
            except Exception:
                log.exception("on_drop callback failed")
