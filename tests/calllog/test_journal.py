"""The call-log journal: records appended before the answer, read back in order, removed once
the store has them; segments nobody holds adopted by the next writer; a bound; and a recorder
that keeps records through an outage and stores each once."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence

import pytest

from gateway.calllog import journal as journal_module
from gateway.calllog.journal import Journal, orphans
from gateway.calllog.postgres import PostgresCallLog
from gateway.calllog.record import CallRecord
from gateway.calllog.recorder import Recorder
from gateway.calllog.store import CallFilter
from gateway.store.postgres import PostgresStore

from .helpers import record


def test_records_come_back_in_order_and_the_journal_starts_over_once_stored(tmp_path):
    j = Journal(str(tmp_path), "w", 1 << 20)
    written = [record() for _ in range(5)]
    assert all(j.append(r) for r in written)
    segment, batch, offset = j.read(3)
    assert [r.request_id for r in batch] == [r.request_id for r in written[:3]] and j.pending == 5
    j.written(segment, offset, len(batch))
    segment, batch, offset = j.read(100)
    assert [r.request_id for r in batch] == [r.request_id for r in written[3:]]
    assert batch[0] == written[3]  # every field survives the journey
    j.written(segment, offset, len(batch))
    assert j.read(100)[0] is None and j.pending == 0
    assert os.path.getsize(segment.path) == 0  # the newest segment, all stored: empty again
    j.close()
    assert os.listdir(tmp_path) == []  # nothing left to adopt


def test_a_full_journal_refuses_records(tmp_path):
    j = Journal(str(tmp_path), "w", 2000)
    results = [j.append(record()) for _ in range(20)]
    assert results[0] and not results[-1]
    j.close()


def test_segments_roll_over_and_finished_ones_are_removed(tmp_path, monkeypatch):
    monkeypatch.setattr(journal_module, "SEGMENT_BYTES", 1500)
    j = Journal(str(tmp_path), "w", 1 << 20)
    for _ in range(30):
        assert j.append(record())
    segments = len([p for p in os.listdir(tmp_path) if p.endswith(".journal")])
    assert segments > 2
    seen = []
    while (got := j.read(7))[0] is not None:
        segment, batch, offset = got
        seen += batch
        j.written(segment, offset, len(batch))
    assert len(seen) == 30 and len({r.request_id for r in seen}) == 30
    assert len([p for p in os.listdir(tmp_path) if p.endswith(".journal")]) == 1  # the newest stays
    j.close()


def test_what_a_dead_writer_left_is_adopted_once(tmp_path):
    j = Journal(str(tmp_path), "w", 1 << 20)
    for _ in range(4):
        j.append(record())
    assert list(orphans(str(tmp_path))) == []  # held by its live writer
    j.close()  # the writer stops (or dies): its lock goes with it
    found = list(orphans(str(tmp_path)))
    assert len(found) == 1 and len(found[0].read(1 << 62, 100)[0]) == 4
    assert list(orphans(str(tmp_path))) == []  # held now by whoever adopted it
    found[0].close(remove=True)


class FlakySink:
    """A store that is unreachable until told otherwise."""

    def __init__(self) -> None:
        self.up = False
        self.stored: list[CallRecord] = []

    def insert(self, records: Sequence[CallRecord]) -> None:
        if not self.up:
            raise ConnectionRefusedError("the store is down")
        self.stored += records


def test_a_recorder_keeps_records_through_an_outage_and_stores_each_once(tmp_path):
    async def scenario() -> None:
        sink = FlakySink()
        recorder = Recorder(
            sink, flush_interval_s=0.01, batch_size=5, journal=Journal(str(tmp_path), "w", 1 << 20)
        )
        recorder.start()
        sent = [record() for _ in range(40)]
        for r in sent:
            recorder.record(r)
        await recorder.flush()
        assert sink.stored == [] and recorder.pending == 40 and recorder.dropped == 0
        sink.up = True
        await recorder.flush()
        assert [r.request_id for r in sink.stored] == [r.request_id for r in sent]
        await recorder.close()

    asyncio.run(scenario())


def test_a_recorder_adopts_what_a_stopped_worker_could_not_store(tmp_path):
    async def scenario() -> None:
        sink = FlakySink()
        first = Recorder(sink, journal=Journal(str(tmp_path), "a", 1 << 20))
        first.start()
        for _ in range(7):
            first.record(record())
        await first.close()  # the store is down: the records stay on disk
        assert sink.stored == []
        sink.up = True
        second = Recorder(sink, journal=Journal(str(tmp_path), "b", 1 << 20))
        second.start()
        await second.flush()
        assert len(sink.stored) == 7
        await second.close()
        assert os.listdir(tmp_path) == []

    asyncio.run(scenario())


@pytest.fixture
def pg_log(postgres_url):
    store = PostgresStore(postgres_url)
    yield PostgresCallLog(store.database)
    store.close()


def test_postgresql_stores_a_batch_written_twice_once(pg_log: PostgresCallLog):
    batch, later = [record() for _ in range(3)], record()
    pg_log.insert(batch)
    pg_log.insert([*batch, later])  # the first try's outcome unknown: written again, and one more
    page = pg_log.calls(CallFilter(), limit=100)
    assert sorted(r.request_id for r in page.calls) == sorted(r.request_id for r in [*batch, later])
    (totals,) = pg_log.aggregate(60, CallFilter(since=0))
    assert totals.calls == 4  # the rollups count each record once too
