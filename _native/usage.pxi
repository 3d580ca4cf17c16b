# A response's token usage, found by scanning its bytes (the relay does not decode what it passes
# through). gateway/calllog/usage.py is the reference; tests/native/test_usage.py holds the two
# equal.

from libc.string cimport memcmp
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE


cdef extern from "string.h" nogil:
    void* memmem(const void* haystack, size_t haystacklen, const void* needle, size_t needlelen)
    void* memrchr(const void* s, int c, size_t n)


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
