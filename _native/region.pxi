# The node's shared-memory region: GCRA buckets, upstream key health, in-flight counts and the
# store generation each worker serves, mapped by every worker and updated only with atomic loads, stores and compare-and-swap.
# Layout: gateway/admission/layout.py (the reference implementation reads the same bytes).

import os

from posix.mman cimport mmap, munmap, PROT_READ, PROT_WRITE, MAP_SHARED, MAP_FAILED
from posix.signal cimport kill
from libc.errno cimport errno, EPERM

from gateway.admission import layout as _layout

cdef int64_t _H_MAGIC = _layout.H_MAGIC
cdef int64_t _MAGIC = _layout.MAGIC
cdef int64_t _VERSION = _layout.LAYOUT_VERSION
cdef int64_t _BUDGET_TAG = _layout.BUDGET_TAG
cdef int64_t _LEASE_UNITS_TAG = _layout.LEASE_UNITS_TAG
cdef int64_t _LEASE_EMPTY_TAG = _layout.LEASE_EMPTY_TAG
cdef int64_t _LEASE_REFILL_TAG = _layout.LEASE_REFILL_TAG

# C copies of the layout constants the hot path indexes with; checked against layout.py at import.
cdef enum:
    H_CLUSTER_MODE = 5
    H_DEGRADED = 6
    H_LIVE_NODES = 7
    H_LEASE_NS = 8
    CLUSTER_NONE = 0
    CLUSTER_LEASE = 1
    CLUSTER_EXACT = 2
    WORKER_WORDS = 2
    W_GENERATION = 1
    BUCKET_WORDS = 2
    KEY_WORDS = 24
    K_STATE = 1
    K_COOL_UNTIL = 2
    K_IN_FLIGHT = 3
    K_REMAINING_REQUESTS = 4
    K_RESET_REQUESTS = 5
    K_LIMIT_REQUESTS = 6
    K_REMAINING_TOKENS = 7
    K_RESET_TOKENS = 8
    K_LIMIT_TOKENS = 9
    K_FAILURES = 10
    K_CHANGED = 11
    K_NEXT_PROBE = 12
    K_COOL_CAUSE = 13
    K_LIMITER = 14
    K_LEARNED_REQUESTS = 15
    K_LEARNED_TOKENS = 16
    LIMITER_CONTINUOUS = 1
    BUDGET_SHIFT = 47

cdef int64_t BUDGET_USED_MAX = (1LL << BUDGET_SHIFT) - 1

if (BUDGET_SHIFT, H_CLUSTER_MODE, H_DEGRADED, H_LIVE_NODES, H_LEASE_NS, CLUSTER_LEASE, CLUSTER_EXACT) != (
        _layout.BUDGET_SHIFT, _layout.H_CLUSTER_MODE, _layout.H_DEGRADED, _layout.H_LIVE_NODES,
        _layout.H_LEASE_NS, _layout.CLUSTER_LEASE, _layout.CLUSTER_EXACT):
    raise ImportError("gateway._native was built against another shared-memory layout; rebuild it")

if (WORKER_WORDS, W_GENERATION, BUCKET_WORDS, KEY_WORDS, K_STATE, K_COOL_UNTIL, K_IN_FLIGHT, K_REMAINING_REQUESTS, K_RESET_REQUESTS,
        K_LIMIT_REQUESTS, K_REMAINING_TOKENS, K_RESET_TOKENS, K_LIMIT_TOKENS, K_FAILURES, K_CHANGED,
        K_NEXT_PROBE, K_COOL_CAUSE, K_LIMITER, K_LEARNED_REQUESTS, K_LEARNED_TOKENS, LIMITER_CONTINUOUS) != (
        _layout.WORKER_WORDS, _layout.W_GENERATION, _layout.BUCKET_WORDS, _layout.KEY_WORDS, _layout.K_STATE, _layout.K_COOL_UNTIL, _layout.K_IN_FLIGHT,
        _layout.K_REMAINING_REQUESTS, _layout.K_RESET_REQUESTS, _layout.K_LIMIT_REQUESTS,
        _layout.K_REMAINING_TOKENS, _layout.K_RESET_TOKENS, _layout.K_LIMIT_TOKENS, _layout.K_FAILURES,
        _layout.K_CHANGED, _layout.K_NEXT_PROBE, _layout.K_COOL_CAUSE, _layout.K_LIMITER,
        _layout.K_LEARNED_REQUESTS, _layout.K_LEARNED_TOKENS, _layout.LIMITER_CONTINUOUS):
    raise ImportError("gateway._native was built against another shared-memory layout; rebuild it")


_KEY_FIELDS = [
    (name[2:].lower(), getattr(_layout, name)) for name in dir(_layout) if name.startswith("K_") and name != "K_ID"
]


cdef inline int64_t _budget_used(int64_t word, int64_t index) nogil:
    # A counter of another period holds nothing of this one: that is the rollover.
    return word & BUDGET_USED_MAX if (word >> BUDGET_SHIFT) == index else 0


cdef inline int64_t _budget_pack(int64_t index, int64_t used) nogil:
    if used < 0:
        used = 0
    elif used > BUDGET_USED_MAX:
        used = BUDGET_USED_MAX
    return (index << BUDGET_SHIFT) | used


cdef inline bint _alive(int64_t pid):
    return kill(<int>pid, 0) == 0 or errno == EPERM


cdef class SharedRegion:
    cdef int64_t *words
    cdef Py_ssize_t nbytes
    cdef readonly str path
    cdef readonly int64_t max_workers
    cdef readonly int64_t bucket_capacity
    cdef readonly int64_t key_capacity
    cdef int64_t off_workers
    cdef int64_t off_buckets
    cdef int64_t off_keys
    cdef int64_t off_in_flight
    cdef readonly int64_t worker

    def __cinit__(self):
        self.words = NULL
        self.worker = -1

    @staticmethod
    def create(str path, int64_t max_workers, int64_t bucket_capacity, int64_t key_capacity):
        """Create (or replace) the region file, zeroed, and publish its header last."""
        nbytes = _layout.region_words(max_workers, bucket_capacity, key_capacity) * 8
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.ftruncate(fd, nbytes)
            region = SharedRegion._map(path, fd, nbytes)
        finally:
            os.close(fd)
        region.words[_layout.H_MAX_WORKERS] = max_workers
        region.words[_layout.H_BUCKETS] = bucket_capacity
        region.words[_layout.H_KEYS] = key_capacity
        region.words[_layout.H_VERSION] = _VERSION
        aigw_store(&region.words[_H_MAGIC], _MAGIC)
        region._read_header()
        return region

    @staticmethod
    def attach(str path):
        fd = os.open(path, os.O_RDWR)
        try:
            nbytes = os.fstat(fd).st_size
            if nbytes < _layout.HEADER_WORDS * 8:
                raise RuntimeError(f"{path}: not an aigw shared region")
            region = SharedRegion._map(path, fd, nbytes)
        finally:
            os.close(fd)
        region._read_header()
        return region

    @staticmethod
    cdef SharedRegion _map(str path, int fd, Py_ssize_t nbytes):
        cdef void *p = mmap(NULL, nbytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        if p == MAP_FAILED:
            raise OSError(errno, f"cannot map {path}")
        cdef SharedRegion region = SharedRegion.__new__(SharedRegion)
        region.words = <int64_t *>p
        region.nbytes = nbytes
        region.path = path
        return region

    cdef _read_header(self):
        if aigw_load(&self.words[_H_MAGIC]) != _MAGIC:
            raise RuntimeError(f"{self.path}: not an aigw shared region")
        if self.words[_layout.H_VERSION] != _VERSION:
            raise RuntimeError(
                f"{self.path}: layout version {self.words[_layout.H_VERSION]}, this build uses {_VERSION}"
            )
        self.max_workers = self.words[_layout.H_MAX_WORKERS]
        self.bucket_capacity = self.words[_layout.H_BUCKETS]
        self.key_capacity = self.words[_layout.H_KEYS]
        if _layout.region_words(self.max_workers, self.bucket_capacity, self.key_capacity) * 8 > self.nbytes:
            raise RuntimeError(f"{self.path}: truncated shared region")
        self.off_workers, self.off_buckets, self.off_keys, self.off_in_flight = _layout.offsets(
            self.max_workers, self.bucket_capacity, self.key_capacity
        )

    def close(self):
        if self.words != NULL:
            munmap(self.words, self.nbytes)
            self.words = NULL

    def __dealloc__(self):
        if self.words != NULL:
            munmap(self.words, self.nbytes)

    # -- open-addressing tables keyed by non-zero 64-bit ids -----------------------------------
    cdef int64_t _find(self, int64_t base, int64_t capacity, int64_t stride, int64_t ident) except -1:
        cdef uint64_t h = (<uint64_t>ident) * 0x9E3779B97F4A7C15ULL
        cdef int64_t i = <int64_t>(h % <uint64_t>capacity)
        cdef int64_t probe, cur
        cdef int64_t *p
        for probe in range(capacity):
            p = &self.words[base + i * stride]
            cur = aigw_load(p)
            if cur == ident:
                return i
            if cur == 0 and (aigw_cas(p, 0, ident) or aigw_load(p) == ident):
                return i
            i = i + 1 if i + 1 < capacity else 0
        raise MemoryError(f"{self.path}: shared table full ({capacity} entries); raise its capacity")

    def bucket(self, int64_t limit_id):
        """Word index of the GCRA state of limit `limit_id` (claimed on first use)."""
        if limit_id <= 0:
            raise ValueError("limit ids are positive")
        i = self._find(self.off_buckets, self.bucket_capacity, BUCKET_WORDS, limit_id)
        return self.off_buckets + i * BUCKET_WORDS + 1

    # -- budget counters: one packed word each, [period index | amount used] ------------------
    def budget_word(self, int64_t budget_id):
        """Word index of budget `budget_id`'s counter (claimed on first use)."""
        return self.bucket(_BUDGET_TAG | budget_id)

    def budget_used(self, int64_t budget_id, int64_t index):
        """What budget `budget_id` has used in period `index`."""
        cdef int64_t word = aigw_load(&self.words[self.budget_word(budget_id)])
        return word & BUDGET_USED_MAX if (word >> BUDGET_SHIFT) == index else 0

    def seed_budget(self, int64_t budget_id, int64_t index, int64_t used):
        """Add `used` to period `index` (starting it, if the counter held an older one)."""
        cdef int64_t *p = &self.words[self.budget_word(budget_id)]
        cdef int64_t word
        while True:
            word = aigw_load(p)
            if aigw_cas(p, word, _budget_pack(index, _budget_used(word, index) + used)):
                return

    # -- the cluster's state, as the supervisor last saw it (gateway/cluster) ---------------------
    def cluster_state(self):
        """(mode, degraded, live nodes, lease ns): CLUSTER_* from the layout, 1 while Redis is
        unreachable, the nodes live when it was last reached, a lease's length."""
        return (aigw_load(&self.words[H_CLUSTER_MODE]), aigw_load(&self.words[H_DEGRADED]),
                aigw_load(&self.words[H_LIVE_NODES]), aigw_load(&self.words[H_LEASE_NS]))

    def set_cluster_state(self, int64_t mode=-1, int64_t degraded=-1, int64_t live_nodes=-1, int64_t lease_ns=-1):
        """Change what is given (-1: leave it); tables built afterwards size their leases from it."""
        if mode >= 0:
            aigw_store(&self.words[H_CLUSTER_MODE], mode)
        if degraded >= 0:
            aigw_store(&self.words[H_DEGRADED], degraded)
        if live_nodes >= 0:
            aigw_store(&self.words[H_LIVE_NODES], live_nodes)
        if lease_ns >= 0:
            aigw_store(&self.words[H_LEASE_NS], lease_ns)

    # -- a shared limit's lease on this node (lease mode) ----------------------------------------
    def lease_units(self, int64_t limit_id):
        """Units of shared limit `limit_id` this node may still spend (negative: owed)."""
        return aigw_load(&self.words[self.bucket(_LEASE_UNITS_TAG | limit_id)])

    def lease_credit(self, int64_t limit_id, int64_t units):
        """Add `units` the cluster granted (or give back what a request did not use)."""
        aigw_add(&self.words[self.bucket(_LEASE_UNITS_TAG | limit_id)], units)

    def lease_settled(self, int64_t limit_id, int64_t empty_until_ns):
        """A refill (or a request that asked the cluster) is over: the cluster has no more of the
        limit until `empty_until_ns` (0: it had some)."""
        aigw_store(&self.words[self.bucket(_LEASE_EMPTY_TAG | limit_id)], empty_until_ns)
        aigw_store(&self.words[self.bucket(_LEASE_REFILL_TAG | limit_id)], 0)

    def key_slot(self, int64_t key_id):
        """Record index of upstream key `key_id` (claimed on first use)."""
        return self._find(self.off_keys, self.key_capacity, KEY_WORDS, key_id)

    # -- worker rows, one per live process: its pid, the generation it serves, its in-flight row --
    cdef inline int64_t *_row(self, int64_t row):
        return &self.words[self.off_workers + row * WORKER_WORDS]

    def claim_worker(self, int64_t pid):
        """Take a free row (or one whose process died) for this process's in-flight counts and
        the generation it serves (none yet)."""
        cdef int64_t row, cur
        for row in range(self.max_workers):
            cur = aigw_load(self._row(row))
            if (cur == 0 or (cur > 0 and not _alive(cur))) and aigw_cas(self._row(row), cur, pid):
                aigw_store(self._row(row) + W_GENERATION, 0)
                self._zero_row(row)
                self.worker = row
                return row
        raise RuntimeError(f"{self.path}: all {self.max_workers} worker rows are in use")

    def release_worker(self):
        """Give this process's row back as it stops cleanly: its in-flight counts (none once it
        has drained) leave the totals, and the supervisor does not take it for a death."""
        cdef int64_t row = self.worker
        cdef int64_t pid
        if row < 0:
            return
        self.worker = -1
        pid = aigw_load(self._row(row))
        if pid > 0 and aigw_cas(self._row(row), pid, -pid):
            self._zero_row(row)
            aigw_store(self._row(row) + W_GENERATION, 0)
            aigw_store(self._row(row), 0)

    def reconcile(self):
        """Free the rows of processes that died (SIGKILL mid-request): their in-flight counts go
        back to zero. Returns how many rows were freed."""
        cdef int64_t row, cur, freed = 0
        for row in range(self.max_workers):
            cur = aigw_load(self._row(row))
            if cur > 0 and not _alive(cur) and aigw_cas(self._row(row), cur, -cur):
                # Negative pid: being reclaimed, so no one claims it until the row is zero.
                self._zero_row(row)
                aigw_store(self._row(row) + W_GENERATION, 0)
                aigw_store(self._row(row), 0)
                freed += 1
        return freed

    def set_loaded_generation(self, int64_t generation):
        """Publish the store generation this process's tables were built from (nothing without a
        row: a process that serves no requests)."""
        if self.worker >= 0:
            aigw_store(self._row(self.worker) + W_GENERATION, generation)

    def loaded_generations(self):
        """The generation each live worker serves (0 while it has built no tables yet), one per
        row whose process is alive."""
        cdef int64_t row, pid
        out = []
        for row in range(self.max_workers):
            pid = aigw_load(self._row(row))
            if pid > 0 and _alive(pid):
                out.append(aigw_load(self._row(row) + W_GENERATION))
        return out

    cdef _zero_row(self, int64_t row):
        # The row's counts leave the node-wide totals with it.
        cdef int64_t i, count
        cdef int64_t base = self.off_in_flight + row * self.key_capacity
        for i in range(self.key_capacity):
            count = aigw_load(&self.words[base + i])
            if count:
                aigw_store(&self.words[base + i], 0)
                aigw_add(self._key(i) + K_IN_FLIGHT, -count)

    cdef inline void _add_in_flight(self, int64_t slot, int64_t n):
        if self.worker >= 0:
            aigw_add(&self.words[self.off_in_flight + self.worker * self.key_capacity + slot], n)
            aigw_add(self._key(slot) + K_IN_FLIGHT, n)

    def in_flight(self, int64_t slot):
        """In-flight requests on upstream key `slot` across every live process of the node."""
        return aigw_load(self._key(slot) + K_IN_FLIGHT)

    # -- upstream key health --------------------------------------------------------------------
    cdef inline int64_t *_key(self, int64_t slot):
        return &self.words[self.off_keys + slot * KEY_WORDS]

    def cool(self, int64_t slot, int64_t until_ns, int64_t cause=0):
        """Keep every process off key `slot` until `until_ns` (never shortens a cooldown). When it
        extends the cooldown, `cause` (a layout.COOL_* code) becomes why; returns whether it did."""
        cdef int64_t *p = self._key(slot) + K_COOL_UNTIL
        cdef int64_t cur
        while True:
            cur = aigw_load(p)
            if cur >= until_ns:
                return False
            if aigw_cas(p, cur, until_ns):
                if cause:
                    aigw_store(self._key(slot) + K_COOL_CAUSE, cause)
                return True

    def cool_cause(self, int64_t slot):
        return aigw_load(self._key(slot) + K_COOL_CAUSE)

    def cool_until(self, int64_t slot):
        return aigw_load(self._key(slot) + K_COOL_UNTIL)

    def clear_cooldown(self, int64_t slot):
        """An operator's reset: the key is usable now, and its backoff streak starts over."""
        aigw_store(self._key(slot) + K_COOL_UNTIL, 0)
        aigw_store(self._key(slot) + K_FAILURES, 0)

    def learn(self, int64_t slot, int64_t limiter, int64_t now_ns, int64_t remaining_requests,
              int64_t reset_requests_ns, int64_t limit_requests, int64_t remaining_tokens,
              int64_t reset_tokens_ns, int64_t limit_tokens):
        """Record what the provider said at `now_ns` about this key's headroom (-1: it said
        nothing), and how its `limiter` refills (layout.LIMITER_*). The latest answer wins:
        every answer is the provider's own up-to-date count."""
        cdef int64_t *k = self._key(slot)
        aigw_store(k + K_LIMITER, limiter)
        if reset_requests_ns >= 0:
            aigw_store(k + K_REMAINING_REQUESTS, remaining_requests)
            aigw_store(k + K_LIMIT_REQUESTS, limit_requests)
            aigw_store(k + K_LEARNED_REQUESTS, now_ns)
            aigw_store(k + K_RESET_REQUESTS, reset_requests_ns)
        if reset_tokens_ns >= 0:
            aigw_store(k + K_REMAINING_TOKENS, remaining_tokens)
            aigw_store(k + K_LIMIT_TOKENS, limit_tokens)
            aigw_store(k + K_LEARNED_TOKENS, now_ns)
            aigw_store(k + K_RESET_TOKENS, reset_tokens_ns)

    def state(self, int64_t slot):
        return aigw_load(self._key(slot) + K_STATE)

    def set_state(self, int64_t slot, int64_t state, int64_t now_ns, int64_t next_probe_ns=0):
        """Move a key to `state` (healthy, exhausted, invalid, disabled); returns the old state."""
        cdef int64_t *k = self._key(slot)
        aigw_store(k + K_NEXT_PROBE, next_probe_ns)
        aigw_store(k + K_CHANGED, now_ns)
        cdef int64_t old = aigw_load(k + K_STATE)
        aigw_store(k + K_STATE, state)
        return old

    def next_probe(self, int64_t slot):
        return aigw_load(self._key(slot) + K_NEXT_PROBE)

    def set_next_probe(self, int64_t slot, int64_t at_ns):
        aigw_store(self._key(slot) + K_NEXT_PROBE, at_ns)

    def fail(self, int64_t slot):
        """Count a rate-limit answer that gave no reset time; returns the new streak (backoff)."""
        return aigw_add(self._key(slot) + K_FAILURES, 1)

    def succeed(self, int64_t slot):
        cdef int64_t *p = self._key(slot) + K_FAILURES
        if aigw_load(p):
            aigw_store(p, 0)

    def record(self, int64_t slot):
        """The whole key record, for the admin API: {word name: value}."""
        cdef int64_t *k = self._key(slot)
        cdef int64_t index
        out = {}
        for name, index in _KEY_FIELDS:
            out[name] = aigw_load(k + index)
        return out
