"""Rollups always agree with the records: whatever batches the records arrive in, the minute,
hour and day rows equal sums computed in Python straight from the records."""

from __future__ import annotations

import math
import sqlite3
import tempfile
from pathlib import Path

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.calllog.backend import open_call_log
from gateway.calllog.record import CallRecord
from gateway.calllog.rollup import DIMENSIONS, HISTOGRAM_COLUMNS, LATENCY_BOUNDS_MS, MEASURES, latency_bucket
from gateway.calllog.store import CallFilter, CallLog
from gateway.store import SQLiteStore, Store
from gateway.store.postgres import PostgresStore

from ..stores import raw
from .helpers import T0, expected_rollups, record

# Timestamps over three days, with many right on (or a hair off) minute, hour and day boundaries.
_boundary = st.integers(0, 3 * 1440).map(lambda m: T0 - T0 % 86400 + m * 60)
timestamps = st.one_of(
    st.floats(T0, T0 + 3 * 86400, allow_nan=False),
    _boundary,
    _boundary.map(lambda t: math.nextafter(t, 0)),
    _boundary.map(lambda t: math.nextafter(t, math.inf)),
)
latencies = st.one_of(
    st.floats(0, 200_000, allow_nan=False),
    st.sampled_from(LATENCY_BOUNDS_MS),
    st.sampled_from(LATENCY_BOUNDS_MS).map(lambda b: math.nextafter(b, math.inf)),
)
records = st.builds(
    lambda ts, lat, tenant, model, status, up, pt, ct, cached, cost: record(
        ts=ts,
        latency_ms=lat,
        tenant=tenant,
        model=model,
        status=status,
        upstream_ms=up,
        prompt_tokens=pt,
        completion_tokens=ct,
        cached_tokens=min(cached, pt),
        cost=cost,
        provider="" if status == 401 else "openai",
    ),
    timestamps,
    latencies,
    st.sampled_from(["acme", "globex", ""]),
    st.sampled_from(["gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5"]),
    st.sampled_from([200, 200, 400, 401, 429, 500, 502]),
    st.one_of(st.none(), st.floats(0, 100_000, allow_nan=False)),
    st.integers(0, 100_000),
    st.integers(0, 10_000),
    st.integers(0, 100_000),
    st.floats(0, 10, allow_nan=False),
)


def _stored_rollups(store: Store) -> dict[tuple[object, ...], list[float]]:
    columns = ["grain", "bucket", *DIMENSIONS, *MEASURES, *HISTOGRAM_COLUMNS]
    rows = raw(store, f"SELECT {', '.join(columns)} FROM call_rollups")
    key = 2 + len(DIMENSIONS)
    return {tuple(r[:key]): list(r[key:]) for r in rows}


def _assert_agree(store: Store, recs: list[CallRecord]) -> None:
    expected = expected_rollups(recs)
    stored = _stored_rollups(store)
    assert stored.keys() == expected.keys()
    for key, want in expected.items():
        got = stored[key]
        assert got[:5] == want[:5], key  # counts and tokens: exact
        assert [got[8:]] == [want[8:]], key  # the histogram: exact
        for g, w in zip(got[5:8], want[5:8], strict=True):  # float sums: up to rounding
            assert math.isclose(g, w, rel_tol=1e-9, abs_tol=1e-9), key


BATCHES = st.lists(st.lists(records, max_size=40), max_size=6)


def _insert_and_check(store: Store, log: CallLog, batches: list[list[CallRecord]]) -> None:
    for batch in batches:
        log.insert(batch)
    everything = [r for batch in batches for r in batch]
    _assert_agree(store, everything)
    assert raw(store, "SELECT COUNT(*) FROM calls") == [(len(everything),)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(BATCHES)
def test_rollups_equal_sums_of_the_records_over_random_batches(batches: list[list[CallRecord]]):
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "aigw.db")
        log = open_call_log(store)
        try:
            _insert_and_check(store, log, batches)
        finally:
            log.close()
            store.close()


def test_rollups_equal_sums_of_the_records_in_postgresql_too(postgres_url):
    store = PostgresStore(postgres_url)
    log = open_call_log(store)

    # Fewer examples: each one is a few round trips to a server.
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(BATCHES)
    def check(batches: list[list[CallRecord]]) -> None:
        raw(store, "TRUNCATE calls, call_rollups")
        _insert_and_check(store, log, batches)

    try:
        check()
    finally:
        log.close()
        store.close()


def test_a_failed_batch_leaves_neither_records_nor_rollups(call_log, store):
    good = [record(), record(status=500)]
    call_log.insert(good)
    broken = [record(), record(request_id=None)]  # NOT NULL request_id: the insert fails
    with pytest.raises((sqlite3.IntegrityError, asyncpg.NotNullViolationError)):
        call_log.insert(broken)
    _assert_agree(store, good)
    assert len(call_log.calls(CallFilter()).calls) == len(good)


def test_latency_buckets_are_inclusive_upper_bounds_like_prometheus():
    assert latency_bucket(0) == 0
    assert latency_bucket(LATENCY_BOUNDS_MS[0]) == 0
    assert latency_bucket(math.nextafter(LATENCY_BOUNDS_MS[0], math.inf)) == 1
    assert latency_bucket(1e9) == len(LATENCY_BOUNDS_MS)


def test_writing_calls_does_not_bump_the_config_generation(call_log, store):
    # Workers rebuild their admission tables when the generation moves: never for log writes.
    before = store.generation()
    call_log.insert([record() for _ in range(10)])
    assert store.generation() == before
