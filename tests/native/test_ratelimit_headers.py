"""The compiled x-ratelimit-* headers (_native/ratelimit_headers.pxi) are the same as their
reference's, gateway/dataplane/limit_headers.py, Go durations included."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import _native
from gateway.admission import Rejection
from gateway.dataplane.limit_headers import reference_limit_headers
from gateway.durations import go_duration

from .conftest import IMPLEMENTATIONS, make_spec


@settings(max_examples=1000, deadline=None)
@given(st.integers(-(10**12), 10**16))
def test_go_duration(ns: int):
    assert _native.go_duration_ns(ns) == go_duration(ns / 1e9)


def test_go_duration_at_boundaries():
    for ms in (0, 1, 499, 500, 999, 1000, 1001, 1050, 1500, 59_999, 60_000, 3_600_000, 3_723_050):
        for extra in (-500_001, -500_000, -499_999, 0, 499_999, 500_000, 500_001):
            ns = ms * 1_000_000 + extra
            assert _native.go_duration_ns(ns) == go_duration(ns / 1e9), ns


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
