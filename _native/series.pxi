# The metric series a worker counts each request into (one per route, model, provider and
# status). gateway/metrics/worker.py's _Series is the reference; tests/native/test_series.py holds
# the two equal.


cdef inline void _observe(list h, tuple bounds, double v) except *:
    # One observation into a histogram list: counts per bucket (bisect_left over the inclusive
    # upper bounds), +Inf, then the sum as its last item.
    cdef Py_ssize_t lo = 0, hi = len(bounds), mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if <double>bounds[mid] < v:
            lo = mid + 1
        else:
            hi = mid
    h[lo] = <double>h[lo] + 1.0
    cdef Py_ssize_t last = len(h) - 1
    h[last] = <double>h[last] + v


cdef class Series:
    """gateway.metrics.worker._Series counted in C: everything counted for one (route, model,
    provider, status). `add()` is the reference's `add()`, the same numbers."""

    cdef public object requests, input, output, cached
    cdef public double cost
    cdef public list duration, upstream, ttfb, overhead
    cdef tuple _duration_ms, _overhead_ms

    def __init__(self, tuple duration_ms, tuple overhead_ms):
        self._duration_ms = duration_ms
        self._overhead_ms = overhead_ms
        self.requests = self.input = self.output = self.cached = 0
        self.cost = 0.0
        self.duration = [0.0] * (len(duration_ms) + 2)
        self.upstream = [0.0] * (len(duration_ms) + 2)
        self.ttfb = [0.0] * (len(duration_ms) + 2)
        self.overhead = [0.0] * (len(overhead_ms) + 2)

    def add(self, rec):
        cdef double latency = rec.latency_ms, up
        self.requests += 1
        _observe(self.duration, self._duration_ms, latency)
        upstream = rec.upstream_ms
        if upstream is not None:
            up = upstream
            _observe(self.upstream, self._duration_ms, up)
            _observe(self.overhead, self._overhead_ms, latency - up if latency > up else 0.0)
        if rec.streamed:
            ttfb = rec.ttfb_ms
            if ttfb is not None:
                _observe(self.ttfb, self._duration_ms, ttfb)
        self.input += rec.prompt_tokens
        self.output += rec.completion_tokens
        self.cached += rec.cached_tokens
        self.cost += rec.cost
