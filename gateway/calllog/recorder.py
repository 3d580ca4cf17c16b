"""Per-worker call recorder: `record()` on the hot path only appends to a bounded buffer; a
background task drains it into the call log in batches, in a thread, so the event loop never
waits on disk.

Durability: records reach disk at least every `flush_interval_s` (or as soon as `batch_size` are
waiting), so a crashed worker loses at most that much. `close()` flushes everything.
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
    ):
        self._sink = sink
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
        """Records buffered, not yet handed to the writer."""
        return len(self._buffer)

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        loop = loop or asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._task = loop.create_task(self._run())

    def record(self, rec: CallRecord) -> None:
        """Buffer one record. Never blocks, never raises: a full buffer drops it and counts it."""
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

    async def flush(self) -> None:
        """Write everything buffered now (tests, and close())."""
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

    async def close(self) -> None:
        """Stop taking records, write every buffered one, stop the writer (graceful shutdown)."""
        self._closing = True
        if self._task is not None:
            if self._wake is not None:
                self._wake.set()
            await self._task
            self._task = None
        await self.flush()
        self._executor.shutdown(wait=True)

    async def _run(self) -> None:
        assert self._wake is not None
        while not self._closing:
            if len(self._buffer) < self._batch:
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
