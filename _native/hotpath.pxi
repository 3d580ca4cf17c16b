# Per-request glue that profiles found costly in Python: a response's token usage (found by
# scanning bytes), a decision's x-ratelimit-* headers, and what an upstream response's head says
# about framing. Each has a pure-Python reference that defines it and that AIGW_PURE_PYTHON=1
# selects: gateway/calllog/usage.py, gateway/dataplane/limit_headers.py and
# gateway/upstream/head.py; tests/native/test_hotpath.py holds the two equal.

from libc.math cimport rint
from libc.string cimport memcmp, memcpy, strlen
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_AsUTF8AndSize, PyUnicode_DecodeLatin1


cdef extern from "string.h" nogil:
    void* memmem(const void* haystack, size_t haystacklen, const void* needle, size_t needlelen)
    void* memrchr(const void* s, int c, size_t n)
    void* memchr(const void* s, int c, size_t n)


cdef Py_ssize_t _find(const char* s, Py_ssize_t n, Py_ssize_t start, const char* pat, Py_ssize_t m) noexcept:
    if start > n - m:
        return -1
    cdef const char* hit = <const char*>memmem(s + start, n - start, pat, m)
    return -1 if hit == NULL else hit - s


cdef Py_ssize_t _rfind(const char* s, Py_ssize_t n, const char* pat, Py_ssize_t m) noexcept:
    # The last occurrence: memrchr for its first byte, then compare the rest.
    cdef Py_ssize_t end = n - m + 1  # candidates start before this
    cdef const char* hit
    while end > 0:
        hit = <const char*>memrchr(s, pat[0], end)
        if hit == NULL:
            return -1
        if memcmp(hit, pat, m) == 0:
            return hit - s
        end = hit - s
    return -1


cdef object _count(bytes data, const char* s, Py_ssize_t n, Py_ssize_t start, const char* key, Py_ssize_t m):
    """The number after the first `key` at or after `start`: spaces, then digits; None when the
    key is absent or no digit follows."""
    cdef Py_ssize_t i = _find(s, n, start, key, m)
    if i < 0:
        return None
    i += m
    while i < n and s[i] == b' ':
        i += 1
    cdef Py_ssize_t first = i
    cdef long long value = 0
    while i < n and b'0' <= s[i] <= b'9':
        if i - first < 18:
            value = value * 10 + (s[i] - 48)
        i += 1
    if i == first:
        return None
    if i - first > 18:  # beyond int64 arithmetic: let Python parse it
        return int(data[first:i])
    return value


def openai_usage(bytes data):
    """(prompt, completion, cached) from the last `"usage"` object in `data`, or None; the same
    as gateway.calllog.usage.openai_usage, scanned in C."""
    cdef const char* s = PyBytes_AS_STRING(data)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(data)
    cdef Py_ssize_t at = _rfind(s, n, b'"usage"', 7)
    if at < 0:
        return None
    at += 7
    cdef Py_ssize_t i = at
    while i < n and (s[i] == b' ' or s[i] == b':'):
        i += 1
    if i + 4 <= n and memcmp(s + i, b"null", 4) == 0:
        return None
    prompt = _count(data, s, n, at, b'"prompt_tokens":', 16)
    completion = _count(data, s, n, at, b'"completion_tokens":', 20)
    if prompt is None and completion is None:
        return None
    cached = _count(data, s, n, at, b'"cached_tokens":', 16)
    return prompt or 0, completion or 0, cached or 0


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


# Response heads (gateway/upstream/head.py is the reference): the connection's facts in one pass.

cdef inline Py_ssize_t _line_end(const char* s, Py_ssize_t n, Py_ssize_t start) noexcept:
    # The next CRLF at or after `start`, -1 if none (memchr: memmem's setup costs more per line).
    cdef const char* hit
    while start < n - 1:
        hit = <const char*>memchr(s + start, b'\r', n - 1 - start)
        if hit == NULL:
            return -1
        if hit[1] == b'\n':
            return hit - s
        start = hit - s + 1
    return -1

cdef inline Py_ssize_t _value_start(const char* s, Py_ssize_t colon, Py_ssize_t end,
                                    Py_ssize_t* value_end) noexcept:
    # A header's value after its colon, without the spaces and tabs around it: [start, *value_end).
    cdef Py_ssize_t a = colon + 1
    cdef Py_ssize_t b = end
    while a < b and (s[a] == b' ' or s[a] == b'\t'):
        a += 1
    while b > a and (s[b - 1] == b' ' or s[b - 1] == b'\t'):
        b -= 1
    value_end[0] = b
    return a

cdef inline bint _iequal(const char* s, const char* lower, Py_ssize_t m) noexcept:
    # `s` equals the lower-case `lower` ignoring ASCII case.
    cdef Py_ssize_t i
    cdef char c
    for i in range(m):
        c = s[i]
        if b'A' <= c <= b'Z':
            c = c + 32
        if c != lower[i]:
            return False
    return True


cdef bint _names_chunked(const char* s, Py_ssize_t n) noexcept:
    # "chunked", in any case, somewhere in s[:n].
    cdef Py_ssize_t i
    for i in range(n - 6):
        if (s[i] | 0x20) == b'c' and _iequal(s + i, b"chunked", 7):
            return True
    return False


def scan_head(bytes received, Py_ssize_t start, tuple watch):
    """(end, flags) of the response head starting at `start` in `received`: where its blank line
    begins, and HEAD_* flags (1 Content-Length, 2 chunked Transfer-Encoding, 4 a header named in
    `watch`, lower-case names); the same as gateway.upstream.head.scan_head."""
    cdef const char* s = PyBytes_AS_STRING(received)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(received)
    cdef Py_ssize_t line = _line_end(s, n, start)  # the status line ends here
    cdef Py_ssize_t end, colon, m
    cdef int flags = 0
    cdef bytes name
    if line < 0:
        return n, 0
    while True:
        start = line + 2
        end = _line_end(s, n, start)
        if end < 0:
            end = n
        if end == start:  # the blank line
            return line, flags
        colon = start
        while colon < end and s[colon] != b':':
            colon += 1
        m = colon - start
        if m == 14 and _iequal(s + start, b"content-length", 14):
            flags |= 1
        elif m == 17 and _iequal(s + start, b"transfer-encoding", 17):
            if _names_chunked(s + colon, end - colon):
                flags |= 2
        elif not flags & 4:
            for name in watch:
                if PyBytes_GET_SIZE(name) == m and _iequal(s + start, PyBytes_AS_STRING(name), m):
                    flags |= 4
                    break
        if end == n:
            return n, flags
        line = end


cdef enum:
    _MAX_PICKED = 64


def pick_headers(bytes head, tuple names):
    """The values of the headers named in `names` (at most 64 lower-case str), keyed by those
    names: values latin-1, without surrounding whitespace, repeats joined with ", "; the same as
    gateway.upstream.head.pick_headers."""
    cdef Py_ssize_t count = len(names)
    if count > _MAX_PICKED:
        raise ValueError(f"pick_headers takes at most {_MAX_PICKED} names")
    cdef const char* wanted[_MAX_PICKED]
    cdef Py_ssize_t lengths[_MAX_PICKED]
    cdef Py_ssize_t k
    for k in range(count):
        wanted[k] = PyUnicode_AsUTF8AndSize(names[k], &lengths[k])
    cdef const char* s = PyBytes_AS_STRING(head)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(head)
    cdef Py_ssize_t line = _line_end(s, n, 0)
    cdef Py_ssize_t start, end, colon, m, a, b
    cdef dict found = {}
    cdef str value
    while line >= 0:
        start = line + 2
        end = _line_end(s, n, start)
        if end < 0:
            end = n
        colon = start
        while colon < end and s[colon] != b':':
            colon += 1
        m = colon - start
        for k in range(count):
            if lengths[k] == m and _iequal(s + start, wanted[k], m):
                a = _value_start(s, colon, end, &b)
                value = PyUnicode_DecodeLatin1(s + a, b - a, NULL)
                name = names[k]
                found[name] = f"{found[name]}, {value}" if name in found else value
                break
        line = end if end < n else -1
    return found


# OpenAI's rate-limit headers (gateway/keypool/learn.py is the reference): what an answer says
# about the key's headroom. Values outside the plain forms (ASCII digits; Go durations of ASCII
# numbers and h/m/s/ms/us/ns) are left to the reference, so both always agree.

cdef extern from "stdlib.h" nogil:
    double strtod(const char* s, char** end)

cdef int _UNDECIDED = -2


cdef int64_t _plain_count(const char* s, Py_ssize_t n) noexcept:
    # A header's value (n < 0: absent) as a number: -1 when absent, _UNDECIDED when not plain
    # digits.
    if n < 0:
        return -1
    if n == 0 or n > 18:
        return _UNDECIDED
    cdef int64_t out = 0
    cdef Py_ssize_t i
    for i in range(n):
        if not b'0' <= s[i] <= b'9':
            return _UNDECIDED
        out = out * 10 + (s[i] - 48)
    return out


cdef int _plain_go_seconds(const char* s, Py_ssize_t n, double* seconds) noexcept:
    # 1: parsed into *seconds; 0: not a Go duration; _UNDECIDED: not a plain one.
    cdef char number[64]
    cdef Py_ssize_t i = 0, start, digits, dots
    cdef double unit, total = 0.0
    if n == 0:
        return 0
    while i < n:
        start = i
        digits = dots = 0
        while i < n and (b'0' <= s[i] <= b'9' or s[i] == b'.'):
            if s[i] == b'.':
                dots += 1
            else:
                digits += 1
            i += 1
        if i == start:
            return _UNDECIDED if s[i] & 0x80 else 0  # µs, or a digit Python knows: its call
        if i == n:
            return 0  # a number without its unit
        if i - start >= 63 or dots > 1 or digits == 0:
            return _UNDECIDED
        if i + 1 < n and s[i + 1] == b's' and (s[i] == b'm' or s[i] == b'u' or s[i] == b'n'):
            unit = 0.001 if s[i] == b'm' else (1e-6 if s[i] == b'u' else 1e-9)
            i += 2
        elif s[i] == b'h' or s[i] == b'm' or s[i] == b's':
            unit = 3600.0 if s[i] == b"h" else (60.0 if s[i] == b'm' else 1.0)
            i += 1
        else:
            return _UNDECIDED if s[i] & 0x80 else 0
        memcpy(number, s + start, i - start)
        number[i - start] = 0
        total += strtod(number, NULL) * unit
    seconds[0] = total
    return 1


cdef int64_t _plain_reset_at(const char* s, Py_ssize_t n, int64_t now_ns) noexcept:
    # A Go-duration reset (n < 0: absent) as a monotonic instant: -1 when absent, empty or not
    # a duration, _UNDECIDED when not a plain one.
    if n <= 0:
        return -1
    cdef double seconds
    cdef int found = _plain_go_seconds(s, n, &seconds)
    if found == 0:
        return -1
    if found == _UNDECIDED or not seconds * 1e9 < 9e18:
        return _UNDECIDED
    return now_ns + <int64_t>(seconds * 1e9)


# What follows "x-ratelimit-" in the six names the reference reads, in the order of the slots.
cdef enum:
    _R_REMAINING, _R_RESET, _R_LIMIT, _T_REMAINING, _T_RESET, _T_LIMIT, _SLOTS
cdef const char* _SUFFIXES[6]
_SUFFIXES[:] = [b"remaining-requests", b"reset-requests", b"limit-requests",
                b"remaining-tokens", b"reset-tokens", b"limit-tokens"]
cdef Py_ssize_t _SUFFIX_LENGTHS[6]
cdef Py_ssize_t _k
for _k in range(_SLOTS):
    _SUFFIX_LENGTHS[_k] = strlen(_SUFFIXES[_k])


def head_headroom(bytes head, int64_t now_ns):
    """(remaining, reset_at, limit) for requests then tokens from OpenAI's x-ratelimit-* headers,
    read straight from a response head (status line, then header lines, as Response.raw_head).
    None when the head has neither those nor any anthropic-ratelimit-* header; False when the
    reference in gateway/keypool/learn.py must decide: Anthropic's headers, a repeated header, or
    a value not in a plain form (ASCII digits; Go durations of ASCII numbers and h/m/s/ms/us/ns)."""
    cdef const char* s = PyBytes_AS_STRING(head)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(head)
    cdef Py_ssize_t at[6]
    cdef Py_ssize_t size[6]
    cdef Py_ssize_t k, start, end, colon, m, a, b
    cdef bint anthropic = False
    for k in range(_SLOTS):
        at[k] = 0
        size[k] = -1
    cdef Py_ssize_t line = _line_end(s, n, 0)  # the status line ends here
    while line >= 0:
        start = line + 2
        end = _line_end(s, n, start)
        if end < 0:
            end = n
        # Most lines are told apart by their first letter, before looking for the colon.
        if end - start > 12 and (s[start] | 0x20) == b'x' and _iequal(s + start, b"x-ratelimit-", 12):
            colon = start + 12
            while colon < end and s[colon] != b':':
                colon += 1
            m = colon - start if colon < end else 0  # a line without a colon names nothing
            for k in range(_SLOTS):
                if _SUFFIX_LENGTHS[k] == m - 12 and _iequal(s + start + 12, _SUFFIXES[k], m - 12):
                    if size[k] >= 0:
                        return False  # repeats are read joined, as the reference reads them
                    a = _value_start(s, colon, end, &b)
                    at[k] = a
                    size[k] = b - a
                    break
        elif end - start > 20 and (s[start] | 0x20) == b'a' and _iequal(s + start, b"anthropic-ratelimit-", 20):
            anthropic = True  # the reference reads this head: erring towards it is safe
        line = end if end < n else -1
    if size[_R_REMAINING] < 0 and size[_T_REMAINING] < 0:
        return False if anthropic else None
    cdef int64_t remaining = _plain_count(s + at[_R_REMAINING], size[_R_REMAINING])
    cdef int64_t tokens_left = _plain_count(s + at[_T_REMAINING], size[_T_REMAINING])
    if remaining == _UNDECIDED or tokens_left == _UNDECIDED:
        return False
    cdef int64_t r_reset = _plain_reset_at(s + at[_R_RESET], size[_R_RESET], now_ns) if remaining >= 0 else -1
    cdef int64_t t_reset = _plain_reset_at(s + at[_T_RESET], size[_T_RESET], now_ns) if tokens_left >= 0 else -1
    cdef int64_t r_limit = _plain_count(s + at[_R_LIMIT], size[_R_LIMIT])
    cdef int64_t t_limit = _plain_count(s + at[_T_LIMIT], size[_T_LIMIT])
    if r_reset == _UNDECIDED or t_reset == _UNDECIDED or r_limit == _UNDECIDED or t_limit == _UNDECIDED:
        return False
    return (remaining, r_reset, r_limit, tokens_left, t_reset, t_limit)
