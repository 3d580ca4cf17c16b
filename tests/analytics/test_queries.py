"""The call log's queries and the analytics over its rollups, against a store of known records."""

from __future__ import annotations

import math
import sqlite3
from contextlib import closing

import msgspec
import pytest

from gateway.analytics import (
    call_filter,
    parse_group_by,
    parse_status,
    parse_time,
    percentile,
    percentiles,
    series,
    summary,
    top,
)
from gateway.calllog import sql as call_sql
from gateway.calllog.record import FIELDS
from gateway.calllog.rollup import DAY, HOUR, LATENCY_BUCKETS, MINUTE
from gateway.calllog.store import CallFilter, Retention
from gateway.store import SQLiteStore
from tests.calllog.helpers import T0, record

from ..stores import raw

START = T0 - T0 % DAY  # midnight UTC, so buckets are easy to reason about


@pytest.fixture
def known(call_log):
    """Three hours of traffic: acme calls gpt-4o-mini every minute (every 10th a 500), globex
    calls gpt-4o every 5 minutes (a 429 rate-limited by its tenant limit every 3rd)."""
    recs = []
    for m in range(180):
        recs.append(
            record(
                ts=START + m * 60 + 1,
                status=500 if m % 10 == 0 else 200,
                latency_ms=40.0 if m % 2 else 400.0,
                cost=0.001,
            )
        )
        if m % 5 == 0:
            limited = (m // 5) % 3 == 0
            recs.append(
                record(
                    ts=START + m * 60 + 2,
                    tenant="globex",
                    app="batch",
                    key_id="key_g",
                    model="gpt-4o",
                    served_model="gpt-4o",
                    deployment="openai/gpt-4o",
                    status=429 if limited else 200,
                    error_code="rate_limit_exceeded" if limited else "",
                    limit_scope="tenant" if limited else "",
                    provider="" if limited else "openai",
                    upstream_key="" if limited else "ok-2",
                    latency_ms=3.0 if limited else 900.0,
                    prompt_tokens=0 if limited else 1000,
                    completion_tokens=0 if limited else 500,
                    cost=0.0 if limited else 0.01,
                )
            )
    call_log.insert(recs[:100])
    call_log.insert(recs[100:])
    return recs


def test_pages_walk_every_matching_call_newest_first_exactly_once(call_log, known):
    seen, cursor = [], None
    while True:
        page = call_log.calls(CallFilter(tenant="acme"), cursor=cursor, limit=7)
        seen += page.calls
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len(seen) == 180
    assert [r.ts for r in seen] == sorted((r.ts for r in seen), reverse=True)
    assert len({r.id for r in seen}) == 180


def test_pages_stay_stable_when_newer_calls_arrive_in_between(call_log, known):
    first = call_log.calls(CallFilter(), limit=10)
    call_log.insert([record(ts=START + 10 * DAY)])  # newer than everything
    second = call_log.calls(CallFilter(), cursor=first.next_cursor, limit=10)
    assert first.calls[-1].ts > second.calls[0].ts
    assert not {r.id for r in first.calls} & {r.id for r in second.calls}


def test_filters_combine(call_log, known):
    where = CallFilter(tenant="globex", status_min=429, status_max=429, since=START, until=START + HOUR)
    got = call_log.calls(where, limit=100).calls
    assert len(got) == 4  # minutes 0, 15, 30, 45
    assert all(r.status == 429 and r.limit_scope == "tenant" for r in got)
    assert call_log.calls(CallFilter(key_id="key_g", model="gpt-4o-mini"), limit=10).calls == []
    one = known[5]
    assert [r.request_id for r in call_log.calls(CallFilter(request_id=one.request_id)).calls] == [
        one.request_id
    ]


def test_a_search_finds_calls_with_each_word_in_some_field(call_log, known):
    def found(text: str, where: CallFilter | None = None) -> set[str]:
        page = call_log.calls(msgspec.structs.replace(where or CallFilter(), search=text), limit=1000)
        return {r.request_id for r in page.calls}

    limited = {r.request_id for r in known if r.error_code == "rate_limit_exceeded"}
    assert found("RATE_LIMIT") == limited, "case-insensitive, in the error code"
    assert found("rate_limit batch") == limited, "every word, each in any field"
    assert found("rate_limit acme") == set(), "a word no field of those calls holds"
    assert found("4o-mini") == {r.request_id for r in known if r.model == "gpt-4o-mini"}
    assert found("key_g", CallFilter(status_min=200, status_max=200)) == {
        r.request_id for r in known if r.key_id == "key_g" and r.status == 200
    }
    one = known[7].request_id
    assert found(one.upper()) == {r.request_id for r in known if one in r.request_id} >= {one}
    # LIKE's wildcards are text to find: '%' matches nothing here, '_' only an underscore.
    assert found("%") == set() and found("rate%exceeded") == set()
    assert found("rate_limit_") == limited and found("ratexlimit") == set()
    assert len(found("ok-2")) == sum(r.upstream_key == "ok-2" for r in known)


def test_error_listings_see_every_error_row_and_only_those(call_log, known):
    for low in (400, 429, 500):
        got = call_log.calls(CallFilter(status_min=low), limit=1000).calls
        assert sorted(r.request_id for r in got) == sorted(r.request_id for r in known if r.status >= low)
    assert len(call_log.calls(CallFilter(status_min=200, status_max=299), limit=1000).calls) == sum(
        r.status < 300 for r in known
    )


@pytest.mark.parametrize(
    ("where", "index"),
    [
        (CallFilter(), "calls_ts"),
        (CallFilter(tenant="acme", app="web"), "calls_tenant_ts"),
        (CallFilter(status_min=400), "calls_errors_ts"),  # the partial index of error rows
        (CallFilter(status_min=500, status_max=599, since=T0), "calls_errors_ts"),
        (CallFilter(request_id="req_x"), "calls_request_id"),
    ],
)
def test_listings_walk_an_index_never_the_whole_table(sqlite_store, where, index):
    clauses, args = call_sql.call_filter(where)
    sql = call_sql.SELECT + call_sql.where_clause(clauses) + " ORDER BY ts DESC, id DESC LIMIT 10"
    with closing(sqlite3.connect(sqlite_store.path)) as db:
        plan = " ".join(row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql, args))
    assert f"USING INDEX {index}" in plan


def test_records_round_trip_with_every_field(call_log, known):
    stored = call_log.calls(CallFilter(request_id=known[0].request_id)).calls[0]
    assert stored.id > 0
    assert stored == msgspec.structs.replace(known[0], id=stored.id)


def test_tail_returns_calls_stored_after_a_row_in_storing_order(call_log, known):
    mark = call_log.last_id()
    late = [record(ts=START - DAY), record(ts=START + DAY)]  # one written late, one early
    call_log.insert(late)
    got = call_log.tail(CallFilter(), mark)
    assert [r.request_id for r in got] == [r.request_id for r in late]
    assert call_log.tail(CallFilter(), got[-1].id) == []


def test_summary_totals_error_rate_tokens_and_cost(call_log, known):
    s = summary(call_log, CallFilter(since=START, until=START + 3 * HOUR), grain=HOUR)
    assert s.totals.calls == 180 + 36
    assert s.totals.errors == 18 + 12
    assert math.isclose(s.totals.error_rate, 30 / 216)
    assert s.totals.prompt_tokens == 180 * 100 + 24 * 1000
    assert s.totals.completion_tokens == 180 * 20 + 24 * 500
    assert math.isclose(s.totals.cost, 180 * 0.001 + 24 * 0.01)
    by_tenant = {g.group["tenant"]: g for g in summary(call_log, CallFilter(), ["tenant"], HOUR).groups}
    assert by_tenant["globex"].errors == 12 and by_tenant["acme"].calls == 180


def test_every_grain_gives_the_same_totals(call_log, known):
    totals = {g: summary(call_log, CallFilter(), grain=g).totals for g in (MINUTE, HOUR, DAY)}
    assert len({(t.calls, t.errors, t.prompt_tokens, round(t.cost, 9)) for t in totals.values()}) == 1


def test_series_has_every_bucket_with_zeros_filled_in(call_log, known):
    s = series(call_log, CallFilter(since=START - HOUR, until=START + 4 * HOUR), grain=HOUR)
    (line,) = s.lines
    assert [p.bucket for p in line.points] == [START + h * HOUR for h in range(-1, 4)]
    assert [p.calls for p in line.points] == [0, 72, 72, 72, 0]
    by_model = series(call_log, CallFilter(since=START, until=START + 3 * HOUR), ["model"], HOUR)
    assert {line.group["model"]: [p.calls for p in line.points] for line in by_model.lines} == {
        "gpt-4o": [12, 12, 12],
        "gpt-4o-mini": [60, 60, 60],
    }


def test_top_ranks_by_the_chosen_metric(call_log, known):
    where = CallFilter(since=START, until=START + 3 * HOUR)
    assert [r.group["model"] for r in top(call_log, where, ["model"], "calls").rows] == [
        "gpt-4o-mini",
        "gpt-4o",
    ]
    by_cost = top(call_log, where, ["model"], "cost").rows
    assert [r.group["model"] for r in by_cost] == ["gpt-4o", "gpt-4o-mini"]
    worst = top(call_log, where, ["tenant", "status"], "errors", n=1).rows
    assert [(r.group, r.errors) for r in worst] == [({"tenant": "acme", "status": 500}, 18)]
    with pytest.raises(ValueError, match="invalid metric"):
        top(call_log, where, ["model"], "nonsense")


def test_percentiles_come_from_the_histograms(call_log, known):
    (acme,) = percentiles(call_log, CallFilter(tenant="acme"), (0.25, 0.75), grain=DAY)
    # Half the acme calls took 40 ms (bucket 25-50), half 400 ms (bucket 250-500).
    assert acme.calls == 180
    assert 25 <= acme.quantiles["p25"] <= 50
    assert 250 <= acme.quantiles["p75"] <= 500


def test_percentile_interpolates_within_a_bucket():
    hist = [0] * LATENCY_BUCKETS
    hist[4] = 10  # ten calls in (50, 100] ms
    assert percentile(hist, 0.5) == pytest.approx(75.0)
    assert percentile(hist, 1.0) == pytest.approx(100.0)
    assert percentile([0] * LATENCY_BUCKETS, 0.5) is None
    last = [0] * (LATENCY_BUCKETS - 1) + [3]
    assert percentile(last, 0.99) == 60000  # open last bucket: its lower bound


def test_prune_keeps_each_kind_for_its_own_retention(call_log, known):
    now = START + 3 * DAY
    pruned = call_log.prune(Retention(calls_days=1, minute_days=1, hour_days=0, day_days=0), now)
    assert pruned.calls == len(known)
    assert call_log.calls(CallFilter()).calls == []
    # Minute rows went with the calls; hour and day rows (kept forever here) still answer.
    assert summary(call_log, CallFilter(), grain=MINUTE).totals.calls == 0
    assert summary(call_log, CallFilter(), grain=HOUR).totals.calls == len(known)
    assert summary(call_log, CallFilter(), grain=DAY).totals.calls == len(known)


def test_text_parameters():
    now = 1_000_000.0
    assert parse_time("90m", now) == now - 5400
    assert parse_time("1700000000", now) == 1_700_000_000
    assert parse_time("2026-01-02T03:04:05Z", now) == parse_time("2026-01-02T03:04:05+00:00", now)
    assert parse_status("5xx") == (500, 599)
    assert parse_status("error") == (400, 599)
    assert parse_status("429") == (429, 429)
    assert parse_group_by("model, status") == ("model", "status")
    f = call_filter({"since": "1h", "key": "key_a", "status": "4xx"}, now=now)
    assert (f.since, f.key_id, f.status_min, f.status_max) == (now - 3600, "key_a", 400, 499)
    for bad in (lambda: parse_time("soon"), lambda: parse_status("bad"), lambda: parse_group_by("secret")):
        with pytest.raises(ValueError):
            bad()
    with pytest.raises(ValueError, match="before"):
        call_filter({"since": "1h", "until": "2h"}, now=now)


def test_the_calls_table_has_a_column_for_every_record_field(store):
    # A field added to CallRecord needs a migration for each backend: this finds a missing one.
    if isinstance(store, SQLiteStore):
        columns = {r[1] for r in raw(store, "PRAGMA table_info(calls)")}
    else:
        sql = "SELECT column_name FROM information_schema.columns WHERE table_name = 'calls'"
        columns = {r[0] for r in raw(store, sql)}
    assert columns == set(FIELDS)
