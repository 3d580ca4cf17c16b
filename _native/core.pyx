# cython: language_level=3
"""aigw data-plane core: one `admit()` call per request, the per-response glue profiles found
costly in Python (one file per concern), and the call-log writer.

Built as the single extension module `gateway._native` from this file and the `.pxi` files it
includes (asyncpg's pattern). The Python glue sees only what `gateway/_native.pyi` declares.
"""

include "atomics.pxi"
include "region.pxi"
include "admit.pxi"
# Per-response glue; each has a pure-Python reference (gateway/native.py chooses).
include "usage.pxi"
include "ratelimit_headers.pxi"
include "series.pxi"
include "response_head.pxi"
include "headroom.pxi"
include "calllog.pxi"
