# The x-ratelimit-* headers of a caller's limit state, read from a native Decision's fields.
# gateway/dataplane/limit_headers.py is the reference (with gateway/durations.py's Go durations);
# tests/native/test_ratelimit_headers.py holds the two equal.

from libc.math cimport rint


cdef str _go_duration_ns(int64_t ns):
    """gateway.durations.go_duration(ns / 1e9): Go's duration format, to the millisecond."""
    cdef double seconds = ns / 1e9
    cdef double rounded = rint(seconds * 1000)  # round half to even, as Python's round()
    cdef long long ms = <long long>rounded if rounded > 0 else 0
    if ms < 1000:
        return f"{ms}ms" if ms else "0s"
    cdef long long hours = ms // 3600000
    ms -= hours * 3600000
    cdef long long minutes = ms // 60000
    ms -= minutes * 60000
    cdef long long whole = ms // 1000, frac = ms % 1000
    if frac == 0:
        secs = f"{whole}"
    elif frac % 100 == 0:
        secs = f"{whole}.{frac // 100}"
    elif frac % 10 == 0:
        secs = f"{whole}.{frac // 10:02d}"
    else:
        secs = f"{whole}.{frac:03d}"
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


def go_duration_ns(int64_t ns):
    return _go_duration_ns(ns)


def limit_headers(Decision d):
    """x-ratelimit-* for the tightest request and token limits the decision was charged to; the
    same list as gateway.dataplane.limit_headers.limit_headers."""
    out = []
    if d.requests_limit >= 0:
        out.append(("x-ratelimit-limit-requests", str(d.requests_limit)))
        out.append(("x-ratelimit-remaining-requests", str(d.requests_remaining)))
        out.append(("x-ratelimit-reset-requests", _go_duration_ns(d.requests_reset_ns)))
    if d.tokens_limit >= 0:
        out.append(("x-ratelimit-limit-tokens", str(d.tokens_limit)))
        out.append(("x-ratelimit-remaining-tokens", str(d.tokens_remaining)))
        out.append(("x-ratelimit-reset-tokens", _go_duration_ns(d.tokens_reset_ns)))
    return out
