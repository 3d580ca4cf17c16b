# cython: language_level=3
"""aigw data-plane core: one `admit()` call per request, the per-response glue of hotpath.pxi, and
the call-log writer of calllog.pxi.

Built as the single extension module `gateway._native` from this file and the `.pxi` files it
includes (asyncpg's pattern). The Python glue sees only what `gateway/_native.pyi` declares.
"""

include "atomics.pxi"
include "region.pxi"
include "admit.pxi"
include "hotpath.pxi"
include "calllog.pxi"
