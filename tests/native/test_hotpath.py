"""The compiled per-response glue (_native/hotpath.pxi) and call-log writer (_native/calllog.pxi)
answer and store exactly as their Python references."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import _native
from gateway.admission import Rejection
from gateway.calllog import sqlite
from gateway.calllog.record import Attempt, CallRecord
from gateway.calllog.rollup import LATENCY_BOUNDS_MS
from gateway.calllog.usage import reference_openai_usage
from gateway.dataplane.limit_headers import reference_limit_headers
from gateway.durations import go_duration
from gateway.keypool import learn
from gateway.metrics.worker import _DURATION_MS, _OVERHEAD_MS, _Series
from gateway.store import SQLiteStore
from gateway.upstream import head as head_mod

from .conftest import IMPLEMENTATIONS, make_spec

BODIES = [
    b"",
    b'{"choices":[]}',
    b'{"usage":null}',
    b'{"usage" : null}',
    b'{"usage":{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21}}',
    b'{"data":[],"usage":{"prompt_tokens": 8, "total_tokens": 8}}',
    b'{"usage":{"completion_tokens":5}}',
    b'{"usage":{"prompt_tokens":"x","completion_tokens":null}}',
    b'{"usage":{"prompt_tokens":   7,"prompt_tokens_details":{"cached_tokens":3}}}',
    b'{"usage":{"prompt_tokens":12345678901234567890123,"completion_tokens":1}}',
    b'{"usage":{"prompt_tokens":0,"completion_tokens":0}}',
    b'data: {"choices":[{"delta":{"content":"hi"}}],"usage":null}\n\n',
    b'{"c":"the usage: {\\"usage\\": 1}","usage":{"prompt_tokens":1200,"completion_tokens":85,'
    b'"prompt_tokens_details":{"cached_tokens":1024}}}',
    b'"usage"',
    b'"usage":{"prompt_tokens":',
]

_token = st.sampled_from(
    [b'"usage"', b":", b" ", b"null", b"{", b"}", b",", b'"prompt_tokens":', b'"completion_tokens":',
     b'"cached_tokens":', b"0", b"7", b"42", b"x", b'"']
)  # fmt: skip


def test_usage_on_known_bodies():
    for body in BODIES:
        assert _native.openai_usage(body) == reference_openai_usage(body), body


@settings(max_examples=500, deadline=None)
@given(st.lists(_token, max_size=30).map(b"".join))
def test_usage_on_generated_bodies(body: bytes):
    assert _native.openai_usage(body) == reference_openai_usage(body)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["prompt_tokens", "completion_tokens", "total_tokens"]),
                       st.integers(0, 10**12)))  # fmt: skip
def test_usage_on_generated_usage_objects(usage: dict[str, int]):
    body = json.dumps({"id": "x", "usage": usage}).encode()
    assert _native.openai_usage(body) == reference_openai_usage(body)


@settings(max_examples=1000, deadline=None)
@given(st.integers(-(10**12), 10**16))
def test_go_duration(ns: int):
    assert _native.go_duration_ns(ns) == go_duration(ns / 1e9)


def test_go_duration_at_boundaries():
    for ms in (0, 1, 499, 500, 999, 1000, 1001, 1050, 1500, 59_999, 60_000, 3_600_000, 3_723_050):
        for extra in (-500_001, -500_000, -499_999, 0, 499_999, 500_000, 500_001):
            ns = ms * 1_000_000 + extra
            assert _native.go_duration_ns(ns) == go_duration(ns / 1e9), ns


WATCH = (b"x-ratelimit-remaining-requests", b"anthropic-ratelimit-tokens-remaining")
_name = st.one_of(
    st.sampled_from(
        ["Content-Length", "content-length", "Transfer-Encoding", "TRANSFER-ENCODING",
         "X-RateLimit-Remaining-Requests", "anthropic-ratelimit-tokens-remaining",
         "x-ratelimit-remaining-request", "Content-Lengths"]
    ),
    st.text("abcXYZ-", min_size=1, max_size=20),
)  # fmt: skip
_value = st.one_of(
    st.sampled_from(["chunked", "gzip, Chunked", "chunke", "identity", "12"]),
    st.text("a cC:kd,", max_size=12),
)
_head = st.lists(st.tuples(_name, _value), max_size=12).map(
    lambda pairs: "\r\n".join(["HTTP/1.1 200 OK", *(f"{k}: {v}" for k, v in pairs)]).encode()
)


@pytest.mark.parametrize(
    ("head", "flags"),
    [
        (b"HTTP/1.1 200 OK", 0),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5", head_mod.HEAD_LENGTH),
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, CHUNKED", head_mod.HEAD_CHUNKED),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip", 0),
        (
            b"HTTP/1.1 200 OK\r\nx-chunked: chunked\r\nX-RateLimit-Remaining-Requests: 0",
            head_mod.HEAD_WATCHED,
        ),
        (b"HTTP/1.1 429 X\r\nx-ratelimit-remaining-requestsx: 1\r\ncontent-length:0", head_mod.HEAD_LENGTH),
    ],
)
def test_head_scan_on_known_heads(head: bytes, flags: int):
    received = b"HTTP/1.1 100 Continue\r\n\r\n" + head + b"\r\n\r\nbody: x\r\n\r\n"
    want = (len(received) - len(b"\r\n\r\nbody: x\r\n\r\n"), flags)
    assert _native.scan_head(received, 25, WATCH) == head_mod.reference_scan_head(received, 25, WATCH) == want
    assert (
        _native.scan_head(head, 0, WATCH)
        == head_mod.reference_scan_head(head, 0, WATCH)
        == (len(head), flags)
    )


@settings(max_examples=500, deadline=None)
@given(_head, st.binary(max_size=40), st.sampled_from([b"\r\n\r\n", b"\r\n", b""]))
def test_head_scan_as_the_reference(head: bytes, before: bytes, blank: bytes):
    received = before + head + blank + b"x\r\n\r\n"
    native = _native.scan_head(received, len(before), WATCH)
    assert native == head_mod.reference_scan_head(received, len(before), WATCH)


PICKED = ("x-ratelimit-remaining-requests", "anthropic-ratelimit-tokens-remaining", "content-length")


def test_header_pick_on_a_known_head():
    head = (
        b"HTTP/1.1 200 OK\r\nX-RateLimit-Remaining-Requests:  9 \r\nx-a: 1\r\n"
        b"x-ratelimit-remaining-requests:\t8\r\nContent-Length:12"
    )
    want = {"x-ratelimit-remaining-requests": "9, 8", "content-length": "12"}
    assert _native.pick_headers(head, PICKED) == head_mod.reference_pick_headers(head, PICKED) == want


def test_header_pick_takes_at_most_64_names():
    with pytest.raises(ValueError, match="at most 64"):
        _native.pick_headers(b"HTTP/1.1 200 OK", tuple(f"x-{i}" for i in range(65)))


@settings(max_examples=500, deadline=None)
@given(_head)
def test_header_pick_as_the_reference(head: bytes):
    assert _native.pick_headers(head, PICKED) == head_mod.reference_pick_headers(head, PICKED)


# Header values as llhttp passes them on (visible ASCII, inner spaces, obs-text), around the
# forms OpenAI sends: digits, and Go durations such as "6ms", "1m30s", "0.5s".
_count = st.one_of(
    st.integers(0, 10**20).map(str), st.sampled_from(["", "-1", "+5", "1_0", "²", "5\xa0", "0x1"])
)
_duration = st.one_of(
    st.lists(
        st.tuples(
            st.sampled_from(["0", "6", "1.5", ".5", "1.", "12.25", "1.2.3", "."]),
            st.sampled_from(["h", "m", "s", "ms", "us", "µs", "ns", "x", ""]),
        ),
        min_size=1,
        max_size=3,
    ).map(lambda parts: "".join(a + b for a, b in parts)),
    st.sampled_from(["", "6ms\xa0", "s", "ms5s", "9" * 30 + "h", "6 ms", "1e3s"]),
)
_openai_headers = st.fixed_dictionaries(
    {},
    optional={
        "x-ratelimit-remaining-requests": _count,
        "x-ratelimit-remaining-tokens": _count,
        "x-ratelimit-limit-requests": _count,
        "x-ratelimit-limit-tokens": _count,
        "x-ratelimit-reset-requests": _duration,
        "x-ratelimit-reset-tokens": _duration,
    },
)


# A head as an answer brings them: the names in any case, a value sometimes repeated, other
# headers around them, Anthropic's now and then.
def _rate_head_bytes(headers: dict[str, str], extra: list[str], upper: bool, pad: str) -> bytes:
    lines = [
        "HTTP/1.1 200 OK",
        "content-type: application/json",
        *(f"{name.upper() if upper else name}:{pad}{value}{pad}" for name, value in headers.items()),
        *(f"{name}: 7" for name in extra),  # Anthropic's, or a repeat of OpenAI's
        "x-ratelimit-remaining-requestsx: 1",
    ]
    return "\r\n".join(lines).encode("latin-1", "replace")


_rate_head = st.builds(
    _rate_head_bytes,
    _openai_headers,
    st.lists(st.sampled_from(sorted(learn.LEARNED_HEADERS)), max_size=2),
    st.booleans(),
    st.sampled_from(["", " ", "\t", "  "]),
)


def reference_head_headroom(head: bytes, now_ns: int) -> Any:
    return learn.reference_headroom(head_mod.reference_pick_headers(head, learn.LEARNED_HEADERS), now_ns)


@settings(max_examples=1000, deadline=None)
@given(_rate_head)
def test_head_headroom_as_the_reference(head: bytes):
    assert learn.head_headroom(head, 10**12) == reference_head_headroom(head, 10**12)


def test_head_headroom_reads_plain_openai_values_in_c():
    head = (
        b"HTTP/1.1 200 OK\r\nx-ratelimit-remaining-requests: 9999\r\n"
        b"X-RateLimit-Reset-Requests:1m30.5s\r\nx-ratelimit-limit-requests: 10000\r\n"
        b"x-ratelimit-remaining-tokens: 0\r\nx-ratelimit-reset-tokens: 6ms"
    )
    want = (9999, 10**12 + 90_500_000_000, 10000, 0, 10**12 + 6_000_000, -1)
    assert _native.head_headroom(head, 10**12) == reference_head_headroom(head, 10**12) == want
    assert _native.head_headroom(b"HTTP/1.1 200 OK\r\ncontent-length: 2", 0) is None  # nothing to learn


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\nx-ratelimit-remaining-requests: 5\xa0",  # not plain
        b"HTTP/1.1 200 OK\r\nx-ratelimit-remaining-requests: 5\r\nx-ratelimit-remaining-requests: 6",
        b"HTTP/1.1 200 OK\r\nanthropic-ratelimit-requests-remaining: 5",
    ],
)
def test_head_headroom_leaves_the_rest_to_the_reference(head: bytes):
    assert _native.head_headroom(head, 0) is False


def test_limit_headers_match_the_reference(tmp_path):
    # The same admissions through both implementations give the same headers: requests limits
    # only (mini), tokens (batch key), and none (embed).
    tables = []
    for name in ("native", "reference"):
        table_cls, region_cls = IMPLEMENTATIONS[name]
        region = region_cls.create(str(tmp_path / name), 8, 1024, 64)
        region.claim_worker(os.getpid())
        tables.append(table_cls(make_spec(limits=True), region))
    native, ref = tables
    now = 10**12
    compared = 0
    for key, model in [("aigw-all", "mini"), ("aigw-mini", "mini"), ("aigw-all", "embed")] * 3:
        now += 123_456_789
        a = native.admit("POST", "/v1/chat/completions", key, model, 100, now=now)
        b = ref.admit("POST", "/v1/chat/completions", key, model, 100, now=now)
        if isinstance(a, Rejection):  # the app's 5 a minute ran out: both say so
            assert isinstance(b, Rejection) and (a.code, a.message) == (b.code, b.message)
            continue
        headers = _native.limit_headers(a)
        assert headers == reference_limit_headers(b)
        compared += len(headers) > 0
        native.finish(a)
        ref.finish(b)
    assert compared >= 3


_records = st.builds(
    lambda latency, upstream, ttfb, streamed, pt, ct, cached, cost: CallRecord(
        request_id="r",
        ts=0.0,
        ts_end=0.0,
        status=200,
        latency_ms=latency,
        upstream_ms=upstream,
        ttfb_ms=ttfb,
        streamed=streamed,
        prompt_tokens=pt,
        completion_tokens=ct,
        cached_tokens=cached,
        cost=cost,
    ),
    st.one_of(st.floats(0, 400_000, allow_nan=False), st.sampled_from([*_DURATION_MS, 0.1, 0.25])),
    st.one_of(st.none(), st.floats(0, 400_000, allow_nan=False), st.sampled_from(_DURATION_MS)),
    st.one_of(st.none(), st.floats(0, 400_000, allow_nan=False)),
    st.booleans(),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    st.floats(0, 10, allow_nan=False),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_records, max_size=30))
def test_metric_series_count_as_the_reference(records: list[CallRecord]):
    native, ref = _native.Series(_DURATION_MS, _OVERHEAD_MS), _Series(_DURATION_MS, _OVERHEAD_MS)
    for rec in records:
        native.add(rec)
        ref.add(rec)
    fields = ("requests", "input", "output", "cached", "cost", "duration", "upstream", "ttfb", "overhead")
    for field in fields:
        assert getattr(native, field) == getattr(ref, field), field


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
