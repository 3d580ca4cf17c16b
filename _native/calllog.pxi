# The call log's writer (gateway/calllog/sqlite.py): a batch of records into `calls` and the
# rollups, through SQLite's C API on a connection of its own. Python's sqlite3 module copies every
# bound text (SQLITE_TRANSIENT) and type-checks and adapts every parameter; here a record's values
# are bound where they are (SQLITE_STATIC: their tuple is held until the statement has stepped),
# and the rollup sums are C numbers. sqlite.py's `_Writer` is the reference (AIGW_PURE_PYTHON=1)
# and tests/native/test_calllog_writer.py holds what the two store equal.

import sqlite3 as _sqlite3

from cpython.object cimport Py_EQ, PyObject_RichCompareBool
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM
from libc.math cimport isfinite
from msgspec.structs import astuple as _astuple


cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object s, Py_ssize_t* size) except NULL


cdef extern from "sqlite3.h" nogil:
    ctypedef struct sqlite3
    ctypedef struct sqlite3_stmt
    ctypedef void (*sqlite3_destructor_type)(void*)
    sqlite3_destructor_type SQLITE_STATIC
    enum:
        SQLITE_OK
        SQLITE_ROW
        SQLITE_DONE
        SQLITE_CONSTRAINT
        SQLITE_OPEN_READWRITE
        SQLITE_OPEN_NOMUTEX
        SQLITE_PREPARE_PERSISTENT
    int sqlite3_open_v2(const char* filename, sqlite3** db, int flags, const char* vfs)
    int sqlite3_close_v2(sqlite3* db)
    int sqlite3_busy_timeout(sqlite3* db, int ms)
    int sqlite3_exec(sqlite3* db, const char* sql, void* callback, void* arg, char** errmsg)
    int sqlite3_prepare_v3(sqlite3* db, const char* sql, int n, unsigned int flags,
                           sqlite3_stmt** stmt, const char** tail)
    int sqlite3_bind_text(sqlite3_stmt* stmt, int i, const char* s, int n, sqlite3_destructor_type d)
    int sqlite3_bind_blob(sqlite3_stmt* stmt, int i, const void* b, int n, sqlite3_destructor_type d)
    int sqlite3_bind_double(sqlite3_stmt* stmt, int i, double v)
    int sqlite3_bind_int64(sqlite3_stmt* stmt, int i, long long v)
    int sqlite3_bind_null(sqlite3_stmt* stmt, int i)
    int sqlite3_step(sqlite3_stmt* stmt)
    int sqlite3_reset(sqlite3_stmt* stmt)
    int sqlite3_clear_bindings(sqlite3_stmt* stmt)
    int sqlite3_finalize(sqlite3_stmt* stmt)
    const char* sqlite3_errmsg(sqlite3* db)


cdef enum:
    MAX_BUCKETS = 32  # latency histogram buckets at most
    MAX_DIMENSIONS = 16


cdef class _Sums:
    """A minute and dimensions (`key`), and what the batch's records of them add up to."""
    cdef tuple key
    cdef long long bucket
    cdef long long calls, errors, prompt, completion, cached
    cdef double cost, latency, upstream
    cdef long long histogram[MAX_BUCKETS]


cdef class CallWriter:
    cdef sqlite3* db
    cdef dict inserts  # rows per statement -> its sqlite3_stmt* (as an int)
    cdef tuple chunks  # the keys of `inserts`, largest first
    cdef sqlite3_stmt* upsert  # one row into a grain's rollups
    cdef tuple grains
    cdef object encode_attempts
    cdef double bounds[MAX_BUCKETS]
    cdef Py_ssize_t nbounds, ncolumns
    # Positions in a record's astuple().
    cdef Py_ssize_t at_ts, at_status, at_prompt, at_completion, at_cached, at_cost, at_latency
    cdef Py_ssize_t at_upstream, at_attempts, at_streamed
    cdef Py_ssize_t at_dimensions[MAX_DIMENSIONS]
    cdef Py_ssize_t ndimensions
    cdef _Sums last  # the sums the batch's previous record went into

    def __cinit__(self):
        self.db = NULL
        self.upsert = NULL
        self.inserts = {}

    def __init__(self, str path, int timeout_ms, tuple setup, dict inserts, str upsert,
                 tuple grains, tuple fields, tuple dimensions, tuple bounds, encode_attempts):
        if len(bounds) >= MAX_BUCKETS or len(dimensions) > MAX_DIMENSIONS:
            raise ValueError("more latency bounds or dimensions than the writer has room for")
        # NOMUTEX: the caller serialises every use of a writer (SQLiteCallLog's lock), so SQLite
        # need not lock the connection's mutex in each of the ~30 calls a row makes.
        rc = sqlite3_open_v2(path.encode(), &self.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL)
        if rc != SQLITE_OK:
            self._raise(rc)
        sqlite3_busy_timeout(self.db, timeout_ms)
        for sql in setup:
            self._exec(sql)
        for rows, sql in inserts.items():
            self.inserts[rows] = <Py_ssize_t>self._prepare(sql)
        self.chunks = tuple(sorted(inserts, reverse=True))
        self.upsert = self._prepare(upsert)
        self.grains = grains
        self.encode_attempts = encode_attempts
        self.nbounds = len(bounds)
        for i, b in enumerate(bounds):
            self.bounds[i] = b
        self.ncolumns = len(fields) - 1  # all but `id`, which the store assigns
        self.at_ts, self.at_status = fields.index("ts"), fields.index("status")
        self.at_prompt = fields.index("prompt_tokens")
        self.at_completion = fields.index("completion_tokens")
        self.at_cached = fields.index("cached_tokens")
        self.at_cost, self.at_latency = fields.index("cost"), fields.index("latency_ms")
        self.at_upstream = fields.index("upstream_ms")
        self.at_attempts, self.at_streamed = fields.index("attempts"), fields.index("streamed")
        self.ndimensions = len(dimensions)
        for i, d in enumerate(dimensions):
            self.at_dimensions[i] = fields.index(d)

    def insert(self, records):
        """Store `records` and add them into every grain's rollups, in one transaction."""
        cdef list recs = records if type(records) is list else list(records)
        cdef Py_ssize_t i = 0, n = len(recs), size = 0
        cdef dict sums = {}
        cdef list held = []  # what the bound values point into, until the statement has stepped
        self.last = None
        self._exec("BEGIN IMMEDIATE")
        try:
            while i < n:
                for size in self.chunks:
                    if size <= n - i:
                        break
                self._insert_chunk(<sqlite3_stmt*><Py_ssize_t>self.inserts[size], recs, i, size,
                                   sums, held)
                del held[:]
                i += size
            for grain in self.grains:
                for row in sums.values():
                    self._upsert(grain, row)
            self._exec("COMMIT")
        except BaseException:
            self._exec("ROLLBACK")
            raise

    def close(self):
        for stmt in self.inserts.values():
            sqlite3_finalize(<sqlite3_stmt*><Py_ssize_t>stmt)
        self.inserts.clear()
        sqlite3_finalize(self.upsert)
        self.upsert = NULL
        sqlite3_close_v2(self.db)
        self.db = NULL

    def __dealloc__(self):
        if self.db != NULL:
            self.close()

    cdef _insert_chunk(self, sqlite3_stmt* stmt, list recs, Py_ssize_t start, Py_ssize_t size,
                       dict sums, list held):
        # Chunk by chunk, as the reference: the GIL is released while each chunk steps.
        cdef Py_ssize_t r, j, base
        cdef tuple values
        cdef bytes attempts
        try:
            for r in range(size):
                values = _astuple(recs[start + r])
                held.append(values)
                base = r * self.ncolumns
                for j in range(1, self.ncolumns + 1):
                    if j == self.at_attempts:
                        attempts = self.encode_attempts(values[j])
                        held.append(attempts)
                        self._check(sqlite3_bind_blob(stmt, base + j, <const char*>attempts,
                                                      len(attempts), SQLITE_STATIC))
                    elif j == self.at_streamed:
                        self._check(sqlite3_bind_int64(stmt, base + j, 1 if values[j] else 0))
                    else:
                        self._bind(stmt, base + j, values[j])
                self._add(sums, values)
        except BaseException:
            sqlite3_clear_bindings(stmt)  # not stepped: leave no pointer into what `held` holds
            raise
        self._step(stmt)

    cdef _add(self, dict sums, tuple values):
        """Add one record into its minute's sums, as sqlite.py's `_add_to_rollup`."""
        cdef double minute = <double>values[self.at_ts] / 60
        if not isfinite(minute):
            raise ValueError(f"cannot bucket the timestamp {values[self.at_ts]!r}")
        cdef _Sums row = self._sums_of(sums, values, <long long>minute * 60)
        cdef double latency = values[self.at_latency]
        row.calls += 1
        if <long long>values[self.at_status] >= 400:
            row.errors += 1
        row.prompt += <long long>values[self.at_prompt]
        row.completion += <long long>values[self.at_completion]
        row.cached += <long long>values[self.at_cached]
        row.cost += <double>values[self.at_cost]
        row.latency += latency
        upstream = values[self.at_upstream]
        if upstream is not None:
            row.upstream += <double>upstream
        cdef Py_ssize_t lo = 0, hi = self.nbounds, mid
        while lo < hi:  # bisect_left: the bounds are inclusive upper bounds
            mid = (lo + hi) >> 1
            if self.bounds[mid] < latency:
                lo = mid + 1
            else:
                hi = mid
        row.histogram[lo] += 1

    cdef _Sums _sums_of(self, dict sums, tuple values, long long bucket):
        """The sums of the record's minute and dimensions: the previous record's when they are
        equal (as in most of a batch: no key tuple to build and hash), else looked up by key."""
        cdef _Sums row = self.last
        cdef Py_ssize_t d
        if row is not None and row.bucket == bucket:
            for d in range(self.ndimensions):
                if not PyObject_RichCompareBool(values[self.at_dimensions[d]], row.key[d + 1], Py_EQ):
                    break
            else:
                return row
        key = PyTuple_New(self.ndimensions + 1)
        cdef object first = bucket
        Py_INCREF(first)
        PyTuple_SET_ITEM(key, 0, first)
        for d in range(self.ndimensions):
            dim = values[self.at_dimensions[d]]
            Py_INCREF(dim)
            PyTuple_SET_ITEM(key, d + 1, dim)
        row = sums.get(key)
        if row is None:
            row = _Sums.__new__(_Sums)
            row.key = key
            row.bucket = bucket
            sums[key] = row
        self.last = row
        return row

    cdef _upsert(self, long long grain, _Sums row):
        """Add `row` into its bucket of `grain` (sqlite.py's _UPSERT)."""
        cdef sqlite3_stmt* stmt = self.upsert
        cdef Py_ssize_t i, n = len(row.key)
        self._check(sqlite3_bind_int64(stmt, 1, grain))
        self._check(sqlite3_bind_int64(stmt, 2, row.bucket // grain * grain))
        for i in range(1, n):  # the dimensions (key[0] is the minute)
            self._bind(stmt, i + 2, row.key[i])
        n += 2
        for v in (row.calls, row.errors, row.prompt, row.completion, row.cached):
            self._check(sqlite3_bind_int64(stmt, n, v))
            n += 1
        for f in (row.cost, row.latency, row.upstream):
            self._check(sqlite3_bind_double(stmt, n, f))
            n += 1
        for i in range(self.nbounds + 1):
            self._check(sqlite3_bind_int64(stmt, n + i, row.histogram[i]))
        self._step(stmt)

    cdef _bind(self, sqlite3_stmt* stmt, int i, value):
        cdef Py_ssize_t size
        cdef const char* text
        # As the sqlite3 module binds them, subclasses (bool, IntEnum) included; str and int
        # first: their checks are a type-flag test, float's a walk of the type's bases.
        if isinstance(value, str):
            text = PyUnicode_AsUTF8AndSize(value, &size)  # kept in the str: lives as long as it
            self._check(sqlite3_bind_text(stmt, i, text, size, SQLITE_STATIC))
        elif isinstance(value, int):
            self._check(sqlite3_bind_int64(stmt, i, value))
        elif value is None:
            self._check(sqlite3_bind_null(stmt, i))
        elif isinstance(value, float):
            self._check(sqlite3_bind_double(stmt, i, value))
        else:
            raise _sqlite3.ProgrammingError(f"cannot bind {type(value).__name__} to a call column")

    cdef _step(self, sqlite3_stmt* stmt):
        cdef int rc
        with nogil:
            rc = sqlite3_step(stmt)
            sqlite3_reset(stmt)
            sqlite3_clear_bindings(stmt)  # no pointer into a Python object outlives the step
        if rc != SQLITE_DONE and rc != SQLITE_ROW:
            self._raise(rc)

    cdef _exec(self, str sql):
        cdef bytes utf8 = sql.encode()
        cdef const char* s = utf8
        cdef int rc
        with nogil:
            rc = sqlite3_exec(self.db, s, NULL, NULL, NULL)
        if rc != SQLITE_OK:
            self._raise(rc)

    cdef sqlite3_stmt* _prepare(self, str sql) except NULL:
        cdef bytes utf8 = sql.encode()
        cdef sqlite3_stmt* stmt = NULL
        if sqlite3_prepare_v3(self.db, utf8, len(utf8), SQLITE_PREPARE_PERSISTENT, &stmt, NULL) != SQLITE_OK:
            self._raise()
        return stmt

    cdef inline _check(self, int rc):
        if rc != SQLITE_OK:
            self._raise(rc)

    cdef _raise(self, int rc=0):
        message = sqlite3_errmsg(self.db).decode() if self.db != NULL else "out of memory"
        if rc & 0xff == SQLITE_CONSTRAINT:
            raise _sqlite3.IntegrityError(message)
        raise _sqlite3.OperationalError(message)
