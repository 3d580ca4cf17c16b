"""The compiled call-log writer (_native/calllog.pxi) stores exactly what its reference,
gateway/calllog/sqlite.py's _Writer, stores: every value and its type, rollups included."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from http import HTTPStatus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.calllog import sqlite
from gateway.calllog.record import Attempt, CallRecord
from gateway.calllog.rollup import LATENCY_BOUNDS_MS
from gateway.store import SQLiteStore

_stored = st.builds(
    lambda ts, latency, status, upstream, pt, cost, streamed, tenant, n, request_id: CallRecord(
        request_id=request_id,
        ts=ts,
        ts_end=ts,
        tenant=tenant,
        status=status,
        latency_ms=latency,
        upstream_ms=upstream,
        prompt_tokens=pt,
        completion_tokens=pt // 2,
        cached_tokens=pt // 3,
        cost=cost,
        streamed=streamed,
        attempts=[Attempt(provider="p", key_id="k", status=200, outcome="ok", latency_ms=1.5)] * n,
    ),
    st.one_of(st.floats(1.7e9, 1.8e9, allow_nan=False), st.integers(1_700_000_000, 1_800_000_000)),
    st.one_of(st.floats(0, 100_000, allow_nan=False), st.sampled_from([*LATENCY_BOUNDS_MS, 0, 7])),
    st.sampled_from([200, 400, 429, 500, HTTPStatus.BAD_GATEWAY]),  # an IntEnum binds as its int
    st.one_of(st.none(), st.floats(0, 100_000, allow_nan=False)),
    st.integers(0, 10**6),
    st.floats(0, 10, allow_nan=False),
    st.booleans(),
    st.sampled_from(["acme", "globex", "zürich"]),
    st.integers(0, 2),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=8),
)


@pytest.fixture(scope="module")
def call_logs(tmp_path_factory) -> Iterator[tuple[sqlite.SQLiteCallLog, sqlite.SQLiteCallLog]]:
    """A call log stored by the native writer and one by its reference, each in a store of its own;
    kept across examples, so later batches add into the rollup rows of earlier ones."""
    stores = [SQLiteStore(tmp_path_factory.mktemp(name) / "aigw.db") for name in ("native", "reference")]
    logs = (sqlite.SQLiteCallLog(stores[0].path), sqlite.SQLiteCallLog(stores[1].path, native=False))
    yield logs
    for log in logs:
        log.close()
    for store in stores:
        store.close()


def _stored_rows(log: sqlite.SQLiteCallLog) -> list[list[tuple[type, object]]]:
    tables = ("SELECT * FROM calls ORDER BY id", "SELECT * FROM call_rollups")
    return [[tuple((type(v), v) for v in row) for row in log._db.execute(sql)] for sql in tables]


@settings(max_examples=200, deadline=None)
@given(st.lists(_stored, max_size=250))
def test_writer_stores_as_the_reference(call_logs, records: list[CallRecord]):
    native, reference = call_logs
    native.insert(records)
    reference.insert(records)
    assert _stored_rows(native) == _stored_rows(reference)


@pytest.mark.parametrize(
    ("bad", "error"),
    [({"request_id": None}, sqlite3.IntegrityError), ({"prompt_tokens": 2**70}, OverflowError)],
)
def test_a_failed_batch_stores_nothing(call_logs, bad: dict, error: type[Exception]):
    fields = {"request_id": "ok", "ts": 1.75e9, "ts_end": 1.75e9, "status": 200, "latency_ms": 1.0}
    good = CallRecord(**fields)
    for log in call_logs:
        before = _stored_rows(log)
        with pytest.raises(error):
            log.insert([good, CallRecord(**{**fields, **bad})])
        assert _stored_rows(log) == before
        log.insert([good])
    assert _stored_rows(call_logs[0]) == _stored_rows(call_logs[1])
