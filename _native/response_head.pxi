# Upstream response heads: framing and watched names in one pass, and headers picked by name.
# gateway/upstream/head.py is the reference; tests/native/test_response_head.py holds the two
# equal. headroom.pxi reads heads with the line helpers defined here.

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_AsUTF8AndSize, PyUnicode_DecodeLatin1


cdef extern from "string.h" nogil:
    void* memchr(const void* s, int c, size_t n)


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
