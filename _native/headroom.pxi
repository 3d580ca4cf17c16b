# What an answer's OpenAI rate-limit headers say about the key's headroom, read straight from
# the response head (with response_head.pxi's line helpers). Values outside the plain forms
# (ASCII digits; Go durations of ASCII numbers and h/m/s/ms/us/ns) are left to the reference,
# gateway/keypool/learn.py, so both always agree; tests/native/test_headroom.py holds them equal.

from libc.string cimport memcpy, strlen
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE


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
