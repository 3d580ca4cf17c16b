"""The recorder: batches, never blocks the loop, counts every record it cannot keep, flushes on
close. Synchronisation is by events the sink sets, never by sleeping."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Sequence

import pytest

from gateway.calllog.record import CallRecord
from gateway.calllog.recorder import WRITER_NICENESS, Recorder
from gateway.calllog.sqlite import SQLiteCallLog
from gateway.calllog.store import CallFilter

from .helpers import record


class Sink:
    """An in-memory call log that tells the test (on the loop) when a batch arrived, and can be
    made to block like a stalled disk."""

    def __init__(self, loop: asyncio.AbstractEventLoop, fail: bool = False):
        self.loop = loop
        self.batches: list[list[CallRecord]] = []
        self.arrived = asyncio.Event()
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.fail = fail

    def insert(self, records: Sequence[CallRecord]) -> None:
        self.entered.set()
        self.gate.wait()
        if self.fail:
            raise OSError("disk full")
        self.batches.append(list(records))
        self.loop.call_soon_threadsafe(self.arrived.set)

    @property
    def stored(self) -> int:
        return sum(len(b) for b in self.batches)


def test_a_full_batch_is_written_at_once_without_waiting_for_the_interval():
    async def main() -> None:
        sink = Sink(asyncio.get_running_loop())
        rec = Recorder(sink, flush_interval_s=3600, batch_size=500)  # type: ignore[arg-type]
        rec.start()
        for _ in range(499):
            rec.record(record())
        assert sink.batches == []
        rec.record(record())
        await asyncio.wait_for(sink.arrived.wait(), 10)
        assert [len(b) for b in sink.batches] == [500]
        await rec.close()

    asyncio.run(main())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread's own nice value is Linux's")
def test_the_writer_runs_below_the_event_loops_cpu_priority():
    class PrioritySink(Sink):
        def insert(self, records: Sequence[CallRecord]) -> None:
            self.niceness = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
            super().insert(records)

    async def main() -> None:
        sink = PrioritySink(asyncio.get_running_loop())
        rec = Recorder(sink, flush_interval_s=3600, batch_size=1)  # type: ignore[arg-type]
        rec.start()
        rec.record(record())
        await asyncio.wait_for(sink.arrived.wait(), 10)
        await rec.close()
        loop_niceness = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        # The loop's own priority is untouched; the writer's is lower (a larger nice value).
        assert loop_niceness == os.getpriority(os.PRIO_PROCESS, 0)
        assert sink.niceness == min(19, loop_niceness + WRITER_NICENESS)

    asyncio.run(main())


def test_a_partial_batch_is_written_after_the_flush_interval():
    async def main() -> None:
        sink = Sink(asyncio.get_running_loop())
        rec = Recorder(sink, flush_interval_s=0.01, batch_size=500)  # type: ignore[arg-type]
        rec.start()
        rec.record(record())
        rec.record(record())
        await asyncio.wait_for(sink.arrived.wait(), 10)
        assert sink.stored == 2
        await rec.close()

    asyncio.run(main())


def test_a_full_buffer_drops_and_counts_while_the_disk_is_stalled():
    async def main() -> None:
        sink = Sink(asyncio.get_running_loop())
        drops: list[tuple[str, int]] = []
        rec = Recorder(
            sink,  # type: ignore[arg-type]
            capacity=100,
            batch_size=10,
            flush_interval_s=3600,
            on_drop=lambda reason, n: drops.append((reason, n)),
        )
        rec.start()
        sink.gate.clear()  # the disk stalls
        for _ in range(10):
            rec.record(record())
        # The writer took those 10 and is now stuck inside insert(), in its thread.
        await asyncio.get_running_loop().run_in_executor(None, sink.entered.wait)
        # record() keeps returning at once: the loop is free (we are running on it), the buffer
        # fills to capacity and the rest is dropped and counted.
        for _ in range(150):
            rec.record(record())
        assert rec.pending == 100
        assert rec.dropped == 50
        assert drops == [("buffer_full", 1)] * 50
        sink.gate.set()
        await rec.close()
        assert sink.stored == 110
        assert sink.stored + rec.dropped == 160

    asyncio.run(main())


def test_write_errors_are_counted_as_drops_and_the_writer_keeps_going():
    async def main() -> None:
        sink = Sink(asyncio.get_running_loop(), fail=True)
        drops: list[tuple[str, int]] = []
        rec = Recorder(sink, on_drop=lambda reason, n: drops.append((reason, n)))  # type: ignore[arg-type]
        for _ in range(3):
            rec.record(record())
        await rec.flush()
        assert drops == [("write_error", 3)]
        sink.fail = False
        rec.record(record())
        await rec.close()
        assert sink.stored == 1
        assert rec.dropped == 3

    asyncio.run(main())


def test_close_flushes_everything_into_sqlite_and_refuses_later_records(call_log: SQLiteCallLog):
    async def main() -> Recorder:
        rec = Recorder(call_log, flush_interval_s=3600, batch_size=10_000)
        rec.start()
        for i in range(2345):
            rec.record(record(request_id=f"req_{i}"))
        await rec.close()
        rec.record(record())  # after close: counted, not silently lost
        return rec

    rec = asyncio.run(main())
    assert rec.written == 2345
    assert rec.dropped == 1
    stored = {r.request_id for r in call_log.tail(CallFilter(), 0, limit=10_000)}
    assert stored == {f"req_{i}" for i in range(2345)}


def test_record_never_raises_even_when_the_drop_callback_does():
    def boom(reason: str, n: int) -> None:
        raise RuntimeError("metrics broken")

    rec = Recorder(None, capacity=0, on_drop=boom)  # type: ignore[arg-type]
    rec.record(record())
    assert rec.dropped == 1


@pytest.mark.parametrize("n", [1, 499, 500, 501, 4001])
def test_every_record_arrives_exactly_once(call_log: SQLiteCallLog, n: int):
    async def main() -> None:
        rec = Recorder(call_log, flush_interval_s=0.005, batch_size=500)
        rec.start()
        for i in range(n):
            rec.record(record(request_id=f"r{i}"))
            if i % 97 == 0:
                await asyncio.sleep(0)  # let the writer interleave with the producer
        await rec.close()

    asyncio.run(main())
    ids = [r.request_id for r in call_log.tail(CallFilter(), 0, limit=100_000)]
    assert sorted(ids) == sorted(f"r{i}" for i in range(n))
