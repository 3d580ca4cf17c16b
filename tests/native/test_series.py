"""The compiled metric series (_native/series.pxi) counts as its reference,
gateway/metrics/worker.py's _Series."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import _native
from gateway.calllog.record import CallRecord
from gateway.metrics.worker import _DURATION_MS, _OVERHEAD_MS, _Series

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
