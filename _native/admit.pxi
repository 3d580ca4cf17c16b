# Route, authenticate, authorize the model, charge every limit (GCRA, all or none), pick an
# upstream key no process knows to be cooling: one crossing from Python per request.

import hashlib

from libc.math cimport ceil

from gateway.admission import rejections as _rej
from gateway.admission.networks import allowed_from as _allowed_from
from gateway.admission import spec as _spec
from gateway.admission.spec import KIND_TOKENS as _KIND_TOKENS

# Pre-bound once so the hot path does no attribute lookups (uvloop's habit).
cdef object _sha256 = hashlib.sha256

# Credentials recently seen by this table: callers reuse one key for many requests, and a dict
# hit costs a fraction of a SHA-256. Bounded (about 100 bytes an entry, so ~25 MB per worker at
# most); dropped with the table, so a revocation (a new table) empties it. Only known keys.
cdef Py_ssize_t _SEEN_MAX = 262144

# headroom compares at most this many usable keys, starting after the last one picked: the scan
# rotates through a large pool, so every key is weighed often, at a cost that does not grow
# with the pool.
cdef Py_ssize_t _CANDIDATES = 8


cdef class _Limit:
    cdef int64_t word         # index of the bucket's TAT in the region
    cdef int64_t emission     # ns per unit (T), rounded up so rounding never over-admits
    cdef int64_t tolerance    # burst * T: how far the TAT may run ahead of now
    cdef bint tokens
    cdef readonly int64_t amount
    cdef object spec          # the LimitSpec: what a refusal says
    cdef int64_t id
    cdef bint shared          # a limit of the cluster (LimitSpec.shared)
    cdef int64_t lease_units  # word indexes of this node's lease of it (shared limits only)
    cdef int64_t lease_empty
    cdef int64_t lease_refill
    cdef int64_t chunk        # units a lease refill asks the cluster for (lease mode)


# How a decision's shared limits were charged: as any limit (no cluster), against the node's
# lease, in Redis by the caller (exact), or as this node's share of them (Redis unreachable).
cdef enum:
    SHARE_LOCAL = 0
    SHARE_LEASE = 1
    SHARE_EXACT = 2
    SHARE_DEGRADED = 3

# A refill abandoned by a process that died is taken over after this long.
cdef int64_t _REFILL_STALE_NS = 1000000000


cdef enum:
    BUDGET_REQUESTS = 0
    BUDGET_TOKENS = 1
    BUDGET_COST = 2
    PERIOD_LIFETIME = 0
    PERIOD_DAY = 1
    PERIOD_MONTH = 2

_BUDGET_KINDS = {_spec.KIND_REQUESTS: BUDGET_REQUESTS, _spec.KIND_TOKENS: BUDGET_TOKENS, _spec.KIND_COST: BUDGET_COST}
_PERIODS = {_spec.PERIOD_LIFETIME: PERIOD_LIFETIME, _spec.PERIOD_DAY: PERIOD_DAY, _spec.PERIOD_MONTH: PERIOD_MONTH}


cdef class _Budget:
    cdef int64_t word         # index of the budget's counter in the region
    cdef int kind             # BUDGET_*
    cdef int period           # PERIOD_*
    cdef int64_t amount
    cdef object spec          # the BudgetSpec: what a refusal says
    cdef str used_up          # a temporary key's cap: refused with this (401) once used up


cdef inline int64_t _month_of(int64_t days) nogil:
    """UTC months since 1970-01 of the day `days` since 1970-01-01 (H. Hinnant's civil_from_days)."""
    cdef int64_t z = days + 719468
    cdef int64_t era = (z if z >= 0 else z - 146096) // 146097
    cdef int64_t doe = z - era * 146097
    cdef int64_t yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    cdef int64_t doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    cdef int64_t mp = (5 * doy + 2) // 153
    cdef int64_t month = mp + 3 if mp < 10 else mp - 9
    cdef int64_t year = yoe + era * 400 + (1 if month <= 2 else 0)
    return (year - 1970) * 12 + month - 1


def period_index(str period, int64_t wall_s):
    """The native twin of gateway.admission.budgets.period_index (the tests compare them)."""
    cdef int code = _PERIODS[period]
    if code == PERIOD_DAY:
        return wall_s // 86400
    if code == PERIOD_MONTH:
        return _month_of(wall_s // 86400)
    return 0


cdef inline bint _budget_take(int64_t *p, int64_t index, int64_t amount, int64_t charge) nogil:
    """Charge `charge` to period `index` unless the budget is used up; one CAS, rollover included."""
    cdef int64_t word, used
    while True:
        word = aigw_load(p)
        used = _budget_used(word, index)
        if used >= amount:
            return False
        if aigw_cas(p, word, _budget_pack(index, used + charge)):
            return True


cdef inline void _budget_settle(int64_t *p, int64_t index, int64_t delta) nogil:
    """Add `delta` (may be negative) to period `index`; nothing once that period is over."""
    cdef int64_t word
    while True:
        word = aigw_load(p)
        if (word >> BUDGET_SHIFT) != index:
            return
        if aigw_cas(p, word, _budget_pack(index, _budget_used(word, index) + delta)):
            return


cdef class Decision:
    """Admission said yes: where the request goes, on whose behalf, and the limit state."""
    cdef readonly int route
    cdef readonly str key_id
    cdef readonly str tenant
    cdef readonly str app
    cdef readonly object models      # frozenset of allowed groups, or None for all
    cdef readonly object services    # frozenset of the gated groups (services) it may call
    cdef readonly str group          # None for routes without a model
    cdef readonly object target      # the glue's upstream target, None without a model
    cdef readonly object params      # {name: value} from a route's {param} segments, else None
    cdef readonly int64_t slot       # the upstream key's record in the region, -1 without a model
    cdef readonly int64_t estimated_tokens
    # The tightest limit of each kind after this request was charged; limit -1 when none applies.
    cdef readonly int64_t requests_limit
    cdef readonly int64_t requests_remaining
    cdef readonly int64_t requests_reset_ns
    cdef readonly int64_t tokens_limit
    cdef readonly int64_t tokens_remaining
    cdef readonly int64_t tokens_reset_ns
    cdef list _token_limits
    # Shared limits the caller charges in Redis before it serves the request (exact mode, or a
    # lease that ran out): (limit id, emission ns, tolerance ns, cost, chunk, tokens), else None.
    cdef readonly object remote
    # Leases running low that the caller refills in the background, same tuples, else None.
    cdef readonly object refill
    cdef list _remote_limits        # the _Limits of `remote`
    cdef int _share                 # SHARE_*: how the shared limits were charged
    cdef int64_t _nodes             # SHARE_DEGRADED: the node's share is 1/_nodes
    cdef list _limits               # every limit charged: the consumer's, then the group's
    cdef list _budgets              # the _Budgets charged (all the consumer's), or None
    cdef int64_t _day               # UTC day and month of admission: the budgets' periods
    cdef int64_t _month
    cdef bint _finished
    cdef _Group _group
    cdef Py_ssize_t _index           # the key's place in _group, for its configured limits

    def __repr__(self):
        return f"Decision(route={self.route}, app={self.app!r}, group={self.group!r})"


cdef class _Pattern:
    """A route with `{param}` segments or a trailing `/*` (any rest of the path)."""
    cdef str method
    cdef tuple segments      # literal strings, or None where a {param} stands
    cdef tuple names         # the param names, in order
    cdef bint prefix
    cdef int route

    cdef object match(self, list parts):
        # parts: the request path split on "/"; returns the params dict, or None.
        cdef Py_ssize_t n = len(self.segments), i
        if len(parts) < n or (not self.prefix and len(parts) != n):
            return None
        params = {}
        cdef Py_ssize_t k = 0
        for i in range(n):
            literal = self.segments[i]
            if literal is None:
                if not parts[i]:
                    return None
                params[self.names[k]] = parts[i]
                k += 1
            elif literal != parts[i]:
                return None
        return params


cdef _Pattern _compile(str method, str pattern, int route):
    cdef _Pattern p = _Pattern()
    p.method = method
    p.route = route
    p.prefix = pattern.endswith("/*")
    parts = (pattern[:-2] if p.prefix else pattern).split("/")
    p.segments = tuple(None if s.startswith("{") and s.endswith("}") else s for s in parts)
    p.names = tuple(s[1:-1] for s in parts if s.startswith("{") and s.endswith("}"))
    return p


cdef class _Consumer:
    cdef str key_id
    cdef str tenant
    cdef str app
    cdef object models
    cdef list limits
    cdef object services      # frozenset of gated groups (services) it may call
    cdef dict refusals
    cdef int64_t expires_ns   # 0: never
    cdef str expired
    cdef list budgets
    cdef object networks      # tuple of ipaddress networks the key may be used from, or None


from cpython.mem cimport PyMem_Free, PyMem_Malloc


cdef enum:
    STRATEGY_HEADROOM = 0
    STRATEGY_ROUND_ROBIN = 1
    STRATEGY_WEIGHTED = 2

_STRATEGIES = {"headroom": STRATEGY_HEADROOM, "round-robin": STRATEGY_ROUND_ROBIN, "weighted": STRATEGY_WEIGHTED}


cdef struct _KeyLimit:
    # A key's configured limit (GCRA, like _Limit), for providers that send no rate-limit headers.
    int64_t word
    int64_t emission
    int64_t tolerance
    bint tokens


cdef class _Group:
    cdef str name
    cdef tuple targets
    cdef list slots
    cdef Py_ssize_t count
    cdef list limits
    cdef int strategy
    cdef tuple fallbacks
    cdef bint gated
    # C arrays for the scan in _pick (freed with the group):
    cdef int64_t *slot_array     # the key slots, in target order (sorted by priority tier)
    cdef int64_t *weight_array   # each target's weight, for the weighted strategy
    cdef int64_t *current        # smooth weighted round-robin state, per target
    cdef Py_ssize_t tiers
    cdef Py_ssize_t *tier_start  # tiers + 1 offsets into the targets
    cdef Py_ssize_t *tier_next   # per tier: where the next scan starts
    cdef _KeyLimit *key_limits   # every key's configured limits, key after key
    cdef Py_ssize_t *key_limit_start  # count + 1 offsets into key_limits

    def __dealloc__(self):
        PyMem_Free(self.key_limits)
        PyMem_Free(self.key_limit_start)
        PyMem_Free(self.slot_array)
        PyMem_Free(self.weight_array)
        PyMem_Free(self.current)
        PyMem_Free(self.tier_start)
        PyMem_Free(self.tier_next)


cdef inline int64_t _take(int64_t *tat_p, int64_t now, int64_t inc, int64_t tolerance, int64_t *tat_out) nogil:
    """GCRA: charge `inc` ns of debt unless that runs the TAT more than `tolerance` past now.
    Returns 0 when charged (the new TAT in tat_out), else how many ns until it would fit."""
    cdef int64_t tat, new_tat
    while True:
        tat = aigw_load(tat_p)
        new_tat = (tat if tat > now else now) + inc
        if new_tat - now > tolerance:
            return new_tat - now - tolerance
        if aigw_cas(tat_p, tat, new_tat):
            tat_out[0] = new_tat
            return 0


cdef inline double _available(int64_t *k, int64_t now, Py_ssize_t at, Py_ssize_t learned_at) noexcept nogil:
    """What is left at `now` of the limit whose remaining, reset and limit words start at `at`
    (gateway/admission/limiter.py:available, in the same order of operations)."""
    cdef int64_t remaining = aigw_load(k + at), reset = aigw_load(k + at + 1)
    cdef int64_t limit = aigw_load(k + at + 2), learned = aigw_load(k + learned_at)
    if reset <= now:
        return <double>limit
    if aigw_load(k + K_LIMITER) != LIMITER_CONTINUOUS or reset <= learned or remaining >= limit or now <= learned:
        return <double>remaining
    return remaining + <double>(limit - remaining) * <double>(now - learned) / <double>(reset - learned)


cdef inline int64_t _room_at(int64_t *k, int64_t now, Py_ssize_t at, Py_ssize_t learned_at, int64_t need) noexcept nogil:
    """The first instant from `now` on when `need` units of that limit are left (limiter.py:room_at)."""
    cdef int64_t remaining = aigw_load(k + at), reset = aigw_load(k + at + 1)
    cdef int64_t limit = aigw_load(k + at + 2), learned = aigw_load(k + learned_at), when
    if reset <= now or _available(k, now, at, learned_at) >= need:
        return now
    if need > limit or aigw_load(k + K_LIMITER) != LIMITER_CONTINUOUS or reset <= learned or remaining >= limit:
        return reset
    when = learned + <int64_t>ceil(<double>(need - remaining) * <double>(reset - learned) / <double>(limit - remaining))
    return min(max(when, now), reset)


cdef inline bint _short(int64_t *k, int64_t now, int64_t tokens, int64_t in_flight) noexcept nogil:
    """By what the provider last said (and the requests in flight on the key), a request sent now
    would be refused: no request left, or fewer tokens than the estimate."""
    if aigw_load(k + K_LIMIT_REQUESTS) > 0 and aigw_load(k + K_RESET_REQUESTS) > now and \
            _available(k, now, K_REMAINING_REQUESTS, K_LEARNED_REQUESTS) - in_flight < 1:
        return True
    return aigw_load(k + K_LIMIT_TOKENS) > 0 and aigw_load(k + K_RESET_TOKENS) > now and \
        tokens > _available(k, now, K_REMAINING_TOKENS, K_LEARNED_TOKENS)


cdef inline int64_t _provider_room_at(int64_t *k, int64_t now, int64_t tokens, int64_t in_flight) noexcept nogil:
    """When, by what the provider last said, the key has room for this request (-1: never, it is
    larger than the key's whole token limit)."""
    cdef int64_t at = now
    if aigw_load(k + K_LIMIT_REQUESTS) > 0:
        at = _room_at(k, now, K_REMAINING_REQUESTS, K_LEARNED_REQUESTS, 1 + in_flight)
    if aigw_load(k + K_LIMIT_TOKENS) > 0 and tokens > 0:
        if tokens > aigw_load(k + K_LIMIT_TOKENS):
            return -1
        at = max(at, _room_at(k, now, K_REMAINING_TOKENS, K_LEARNED_TOKENS, tokens))
    return at


cdef inline double _key_limits_left(_Group g, Py_ssize_t index, int64_t *words, int64_t now, int64_t tokens) noexcept:
    """What the key's configured limits would have left after this request, as a share of their
    burst (the smallest over them; 1.0 without any), or -1 when one cannot take it now."""
    cdef double left = 1.0
    cdef int64_t cost, after
    cdef Py_ssize_t i
    cdef _KeyLimit *b
    for i in range(g.key_limit_start[index], g.key_limit_start[index + 1]):
        b = &g.key_limits[i]
        cost = tokens if b.tokens else 1
        if cost <= 0:
            continue
        after = max(aigw_load(&words[b.word]), now) + cost * b.emission - now
        if after > b.tolerance:
            return -1.0
        left = min(left, (b.tolerance - after) / <double>b.tolerance)
    return left


cdef inline int64_t _key_limits_wait(_Group g, Py_ssize_t index, int64_t *words, int64_t now, int64_t tokens) noexcept:
    """ns until the key's configured limits can take this request (0: now; -1: never, it is
    larger than a limit's burst)."""
    cdef int64_t cost, inc, wait = 0
    cdef Py_ssize_t i
    cdef _KeyLimit *b
    for i in range(g.key_limit_start[index], g.key_limit_start[index + 1]):
        b = &g.key_limits[i]
        cost = tokens if b.tokens else 1
        if cost <= 0:
            continue
        inc = cost * b.emission
        if inc > b.tolerance:
            return -1
        wait = max(wait, max(aigw_load(&words[b.word]), now) + inc - now - b.tolerance)
    return wait


cdef class AdmissionTable:
    """Tables built from an `AdmissionSpec` over the node's `SharedRegion`. Immutable: a config
    change builds a new table; the counters live in the region and survive the swap."""
    cdef dict _routes          # (method, path) -> route id, exact paths
    cdef set _paths            # exact paths known under any method, to tell 405 from 404
    cdef list _patterns        # _Pattern routes
    cdef dict _consumers       # sha256 digest -> _Consumer
    cdef dict _groups          # name -> _Group
    cdef dict _seen            # credential -> _Consumer, see _SEEN_MAX
    cdef SharedRegion _region

    def __init__(self, spec, SharedRegion region):
        cdef _Consumer c
        cdef _Group g
        cdef _Limit lim
        cdef _Budget b
        self._region = region
        self._seen = {}
        lease_ns = region.cluster_state()[3]
        # Exact paths in a dict (one lookup); {param} and prefix routes tried in order after it.
        self._routes = {k: v for k, v in spec.routes.items() if "{" not in k[1] and not k[1].endswith("/*")}
        self._paths = {path for (_, path) in self._routes}
        self._patterns = [_compile(m, p, r) for (m, p), r in spec.routes.items() if (m, p) not in self._routes]
        limits = {}
        for ls in spec.limits:
            lim = _Limit()
            lim.word = region.bucket(ls.id)
            lim.emission = -(-ls.period_s * 1000000000 // ls.amount)
            lim.tolerance = ls.burst * lim.emission
            lim.tokens = ls.kind == _KIND_TOKENS
            lim.amount = ls.amount
            lim.spec = ls
            lim.id = ls.id
            lim.shared = ls.shared
            if ls.shared:
                lim.lease_units = region.bucket(_LEASE_UNITS_TAG | ls.id)
                lim.lease_empty = region.bucket(_LEASE_EMPTY_TAG | ls.id)
                lim.lease_refill = region.bucket(_LEASE_REFILL_TAG | ls.id)
                # A chunk is lease_ns of the limit's rate: at least one unit, at most its burst.
                lim.chunk = min(max(1, lease_ns // lim.emission), ls.burst)
            limits[ls.id] = lim
        budgets = {}
        for bs in spec.budgets:
            b = _Budget()
            b.word = region.budget_word(bs.id)
            b.kind = _BUDGET_KINDS[bs.kind]
            b.period = _PERIODS[bs.period]
            b.amount = bs.amount
            b.spec = bs
            b.used_up = bs.used_up
            budgets[bs.id] = b
        self._consumers = {}
        for cs in spec.consumers:
            c = _Consumer()
            c.key_id = cs.key_id
            c.tenant = cs.tenant
            c.app = cs.app
            c.models = cs.models
            c.limits = [limits[i] for i in cs.limits]
            c.services = cs.services
            c.refusals = cs.refusals
            c.expires_ns = cs.expires_ns
            c.expired = cs.expired
            c.budgets = [budgets[i] for i in cs.budgets]
            c.networks = cs.networks
            self._consumers[cs.digest] = c
        self._groups = {}
        for gs in spec.groups:
            g = _Group()
            g.name = gs.name
            g.targets = tuple(gs.targets)
            g.slots = [region.key_slot(k) for k in gs.key_ids]
            g.count = len(g.targets)
            g.limits = [limits[i] for i in gs.limits]
            g.strategy = _STRATEGIES[gs.strategy]
            g.fallbacks = tuple(gs.fallbacks)
            g.gated = gs.gated
            sizes = list(gs.tier_sizes) or [g.count]
            g.tiers = len(sizes)
            g.slot_array = <int64_t *>PyMem_Malloc(max(1, g.count) * sizeof(int64_t))
            g.weight_array = <int64_t *>PyMem_Malloc(max(1, g.count) * sizeof(int64_t))
            g.current = <int64_t *>PyMem_Malloc(max(1, g.count) * sizeof(int64_t))
            g.tier_start = <Py_ssize_t *>PyMem_Malloc((g.tiers + 1) * sizeof(Py_ssize_t))
            g.tier_next = <Py_ssize_t *>PyMem_Malloc(g.tiers * sizeof(Py_ssize_t))
            key_limits = list(gs.key_limits) or [()] * g.count
            g.key_limits = <_KeyLimit *>PyMem_Malloc(max(1, sum(len(ids) for ids in key_limits)) * sizeof(_KeyLimit))
            g.key_limit_start = <Py_ssize_t *>PyMem_Malloc((g.count + 1) * sizeof(Py_ssize_t))
            if not (g.slot_array and g.weight_array and g.current and g.tier_start and g.tier_next
                    and g.key_limits and g.key_limit_start):
                raise MemoryError()
            g.key_limit_start[0] = 0
            for index in range(g.count):
                g.key_limit_start[index + 1] = g.key_limit_start[index]
                for limit_id in key_limits[index]:
                    lim = limits[limit_id]
                    g.key_limits[g.key_limit_start[index + 1]] = _KeyLimit(lim.word, lim.emission, lim.tolerance, lim.tokens)
                    g.key_limit_start[index + 1] += 1
            weights = list(gs.weights) or [1] * g.count
            for index in range(g.count):
                g.slot_array[index] = g.slots[index]
                g.weight_array[index] = weights[index]
                g.current[index] = 0
            g.tier_start[0] = 0
            for index in range(g.tiers):
                g.tier_start[index + 1] = g.tier_start[index] + sizes[index]
                g.tier_next[index] = 0
            self._groups[gs.name] = g
            for alias in gs.aliases:
                self._groups[alias] = g

    @property
    def consumer_count(self):
        return len(self._consumers)

    @property
    def region(self):
        return self._region

    def group_names(self):
        return sorted(self._groups)

    def admit(self, str method, str path, str credential, str model, int64_t estimated_tokens=0,
              int64_t now=-1, int64_t wall=-1, str client=None):
        """Return a `Decision`, or a `Rejection` saying why not.

        `model` is None where the route takes none or the body could not be read; then no limit
        or budget is charged and no upstream key chosen. `client` is the caller's address, for
        keys limited to some networks. `now` (ns, CLOCK_MONOTONIC) and `wall` (Unix seconds,
        which budget periods follow) are for tests.
        """
        params = None
        route = self._routes.get((method, path))
        if route is None:
            if path in self._paths:
                return _rej.wrong_method(method, path)
            route, params = self._match(method, path)
            if route is None:
                return params  # the rejection
        if not credential:
            return _rej.missing_key()
        cdef _Consumer c = self._seen.get(credential)
        if c is None:
            c = self._consumers.get(_sha256(credential.encode()).digest())
            if c is None:
                return _rej.invalid_key()
            if len(self._seen) >= _SEEN_MAX:
                self._seen.clear()
            self._seen[credential] = c
        if c.expires_ns:
            if now < 0:
                now = aigw_now_ns()
            if now >= c.expires_ns:
                return _rej.key_expired(c.expired)
        if c.networks is not None and not _allowed_from(client, c.networks):
            # Before any limit or budget is charged: a key used from elsewhere costs its owner nothing.
            return _refused(_rej.network_not_allowed(client), c)
        cdef Decision d = Decision()
        d.route = route
        d.params = params
        d.key_id = c.key_id
        d.tenant = c.tenant
        d.app = c.app
        d.models = c.models
        d.services = c.services
        d.slot = -1
        d.requests_limit = -1
        d.tokens_limit = -1
        d._finished = True
        if model is None:
            return d
        cdef _Group g = self._groups.get(model)
        if g is None:
            return _rej.unknown_model(model)
        if g.gated:
            if g.name not in c.services:
                return _rej.not_subscribed(model, c.tenant, c.app, c.refusals.get(g.name))
        elif c.models is not None and g.name not in c.models:
            return _rej.unknown_model(model)
        if now < 0:
            now = aigw_now_ns()
        d.group = g.name
        d.estimated_tokens = estimated_tokens
        d._limits = c.limits + g.limits if g.limits else c.limits
        self._share_mode(d)
        rejection = self._charge(d, c.limits, g.limits, now)
        if rejection is not None:
            return _refused(rejection, c)
        if c.budgets:
            rejection = self._charge_budgets(d, c.budgets, aigw_wall_s() if wall < 0 else wall)
            if rejection is not None:
                self._refund(d, c.limits, g.limits)
                return _refused(rejection, c)
        cdef _Group serving = g
        cdef Py_ssize_t index = self._choose(g, now, estimated_tokens, None)
        if index < 0:
            # None of the group's keys can serve now: its fallback groups' keys may.
            for name in g.fallbacks:
                serving = self._groups[name]
                index = self._choose(serving, now, estimated_tokens, None)
                if index >= 0:
                    break
        cdef int64_t recovery
        if index < 0:
            self._refund(d, c.limits, g.limits)
            if d._budgets:
                self._refund_budgets(d, d._budgets, len(d._budgets))
            # The caller may retry when the group or any of its fallbacks has a key back.
            recovery = self._earliest_recovery(g, now, estimated_tokens)
            for name in g.fallbacks:
                recovery = min(recovery, self._earliest_recovery(self._groups[name], now, estimated_tokens))
            return _refused(_rej.pool_exhausted(g.name, recovery - now), c)
        g = serving
        d._group = g
        d._index = index
        d.target = g.targets[index]
        d.slot = g.slots[index]
        d._finished = False
        self._region._add_in_flight(d.slot, 1)
        return d

    cdef tuple _match(self, str method, str path):
        cdef _Pattern p
        parts = path.split("/")
        other_method = False
        for p in self._patterns:
            params = p.match(parts)
            if params is not None:
                if p.method == method:
                    return p.route, params
                other_method = True
        if other_method:
            return None, _rej.wrong_method(method, path)
        return None, _rej.unknown_route(method, path)

    cdef object _charge(self, Decision d, list first, list second, int64_t now):
        # All or none: a refusal by any limit gives back what the others already took.
        cdef object rejection = self._charge_list(d, first, now)
        if rejection is None and second:
            rejection = self._charge_list(d, second, now)
            if rejection is not None:
                self._refund_list(d, first, len(first))
        return rejection

    cdef _share_mode(self, Decision d):
        # Read once per request: every shared limit of it is charged the same way.
        cdef int64_t *words = self._region.words
        d._share = <int>aigw_load(&words[H_CLUSTER_MODE])
        if d._share != SHARE_LOCAL and aigw_load(&words[H_DEGRADED]):
            d._share = SHARE_DEGRADED
            d._nodes = max(1, aigw_load(&words[H_LIVE_NODES]))

    cdef object _charge_list(self, Decision d, list limits, int64_t now):
        cdef _Limit lim
        cdef int64_t cost, wait, tat = 0, emission
        cdef Py_ssize_t i
        for i in range(len(limits)):
            lim = <_Limit>limits[i]
            cost = d.estimated_tokens if lim.tokens else 1
            if cost <= 0:
                continue
            emission = lim.emission
            if lim.shared and d._share != SHARE_LOCAL:
                if d._share == SHARE_DEGRADED:
                    emission = lim.emission * d._nodes  # this node's share: 1/nodes of the rate
                else:
                    wait = self._charge_shared(d, lim, cost, now)
                    if wait:
                        self._refund_list(d, limits, i)
                        return _rej.rate_limited(lim.spec, wait)
                    if lim.tokens:
                        _note_tokens(d, lim)
                    continue
            wait = _take(&self._region.words[lim.word], now, cost * emission, lim.tolerance, &tat)
            if wait:
                self._refund_list(d, limits, i)
                return _rej.rate_limited(lim.spec, wait)
            _note_state(d, lim, (lim.tolerance - (tat - now)) // emission, tat - now)
        return None

    cdef int64_t _charge_shared(self, Decision d, _Limit lim, int64_t cost, int64_t now):
        """Exact: left to the caller (`remote`). Lease: spend the node's lease; when it is short,
        the caller asks the cluster, unless the cluster is known to have none (then the ns until
        it has: a refusal). Returns 0 when the request may go on."""
        if d._share == SHARE_EXACT:
            _ask_cluster(d, lim, cost, 0)
            return 0
        cdef int64_t *words = self._region.words
        cdef int64_t *units = &words[lim.lease_units]
        cdef int64_t left, started, empty
        while True:
            left = aigw_load(units)
            if left < cost:
                break
            if aigw_cas(units, left, left - cost):
                if left - cost <= lim.chunk // 2:
                    # Running low: one process refills it ahead of need, the others go on spending.
                    started = aigw_load(&words[lim.lease_refill])
                    if (started == 0 or now - started > _REFILL_STALE_NS) and aigw_load(&words[lim.lease_empty]) <= now \
                            and aigw_cas(&words[lim.lease_refill], started, now):
                        if d.refill is None:
                            d.refill = []
                        d.refill.append(_asked(lim, 0, lim.chunk))
                return 0
        empty = aigw_load(&words[lim.lease_empty])
        if empty > now:
            return empty - now
        _ask_cluster(d, lim, cost, lim.chunk)
        return 0

    cdef _refund(self, Decision d, list first, list second):
        self._refund_list(d, first, len(first))
        self._refund_list(d, second, len(second))

    cdef _refund_list(self, Decision d, list limits, Py_ssize_t n):
        cdef _Limit lim
        cdef int64_t cost
        cdef Py_ssize_t i
        for i in range(n):
            lim = <_Limit>limits[i]
            cost = d.estimated_tokens if lim.tokens else 1
            if cost > 0:
                self._refund_one(d, lim, cost)

    cdef _refund_one(self, Decision d, _Limit lim, int64_t cost):
        if not lim.shared or d._share == SHARE_LOCAL:
            aigw_add(&self._region.words[lim.word], -cost * lim.emission)
        elif d._share == SHARE_DEGRADED:
            aigw_add(&self._region.words[lim.word], -cost * lim.emission * d._nodes)
        elif d._share == SHARE_LEASE and (d._remote_limits is None or lim not in d._remote_limits):
            aigw_add(&self._region.words[lim.lease_units], cost)
        # Exact, or a lease the caller was to ask the cluster for: nothing was taken here.

    def refuse(self, Decision d, int64_t limit_id, int64_t wait_ns):
        """The cluster refused shared limit `limit_id` for `wait_ns`: give back all that admission
        took for `d` and return the rejection to answer."""
        cdef _Limit lim, refused = None
        for lim in d._remote_limits or ():
            if lim.id == limit_id:
                refused = lim
        if refused is None:
            raise KeyError(limit_id)
        self._release(d)
        rejection = _rej.rate_limited(refused.spec, wait_ns)
        rejection.consumer = (d.key_id, d.tenant, d.app)
        return rejection

    def charge_locally(self, Decision d, int64_t now=-1):
        """Redis could not be reached for `d.remote`: charge every shared limit of `d` as this
        node's share of it instead, all or none. None when the request may go on, else the
        rejection to answer (all that admission took given back)."""
        cdef _Limit lim, refused
        cdef int64_t cost, wait, tat = 0, emission
        cdef Py_ssize_t i, j, n = len(d._limits)
        if d._share == SHARE_DEGRADED or d._share == SHARE_LOCAL:
            return None
        if now < 0:
            now = aigw_now_ns()
        for i in range(n):  # give back what the shared limits took the other way
            lim = <_Limit>d._limits[i]
            cost = d.estimated_tokens if lim.tokens else 1
            if lim.shared and cost > 0:
                self._refund_one(d, lim, cost)
        d.remote = None
        d._remote_limits = None
        d._share = SHARE_DEGRADED
        d._nodes = max(1, aigw_load(&self._region.words[H_LIVE_NODES]))
        for i in range(n):
            lim = <_Limit>d._limits[i]
            cost = d.estimated_tokens if lim.tokens else 1
            if not lim.shared or cost <= 0:
                continue
            emission = lim.emission * d._nodes
            wait = _take(&self._region.words[lim.word], now, cost * emission, lim.tolerance, &tat)
            if wait:
                refused = lim
                for j in range(i):
                    lim = <_Limit>d._limits[j]
                    cost = d.estimated_tokens if lim.tokens else 1
                    if lim.shared and cost > 0:
                        self._refund_one(d, lim, cost)
                for j in range(n):  # and what the others took: the request is refused
                    lim = <_Limit>d._limits[j]
                    cost = d.estimated_tokens if lim.tokens else 1
                    if not lim.shared and cost > 0:
                        self._refund_one(d, lim, cost)
                self._release_rest(d)
                rejection = _rej.rate_limited(refused.spec, wait)
                rejection.consumer = (d.key_id, d.tenant, d.app)
                return rejection
        return None

    cdef _release(self, Decision d):
        # Every limit, budget and the in-flight count admission took for `d`.
        self._refund_list(d, d._limits, len(d._limits))
        self._release_rest(d)

    cdef _release_rest(self, Decision d):
        if d._budgets:
            self._refund_budgets(d, d._budgets, len(d._budgets))
        if d.slot >= 0 and not d._finished:
            self._region._add_in_flight(d.slot, -1)
            self._settle_key_limits(d, 0)
        d._finished = True
        d._token_limits = None

    cdef object _charge_budgets(self, Decision d, list budgets, int64_t wall):
        # A budget admits while it is not used up: requests cost 1, tokens the estimate, cost
        # nothing until finish() knows it. All or none, like the limits.
        cdef _Budget b
        cdef int64_t index
        cdef Py_ssize_t i
        d._day = wall // 86400
        d._month = _month_of(d._day)
        for i in range(len(budgets)):
            b = <_Budget>budgets[i]
            index = _period(b, d)
            if not _budget_take(&self._region.words[b.word], index, b.amount, _budget_charge(b, d)):
                self._refund_budgets(d, budgets, i)
                if b.used_up:
                    return _rej.key_used_up(b.used_up)
                return _rej.budget_exhausted(b.spec, index, wall)
        d._budgets = budgets
        return None

    cdef _refund_budgets(self, Decision d, list budgets, Py_ssize_t n):
        cdef _Budget b
        cdef int64_t charge
        cdef Py_ssize_t i
        for i in range(n):
            b = <_Budget>budgets[i]
            charge = _budget_charge(b, d)
            if charge:
                _budget_settle(&self._region.words[b.word], _period(b, d), -charge)
        d._budgets = None

    cdef Py_ssize_t _pick(self, _Group g, int64_t now, int64_t tokens, object exclude):
        """The index of the key to use, or -1 when none can serve now.

        Keys are in priority tiers (lower first); a tier is used only when no earlier one has a
        key that can serve. Within a tier only healthy keys that no process has found cooling,
        whose configured limits can take the request, that by what their provider last said
        have room for it (gateway/admission/limiter.py), and that this request has not tried
        (`exclude`: slots), are candidates.
        round-robin takes the next in turn; weighted spreads by deployment weight (smooth weighted
        round-robin); headroom takes, among the next _CANDIDATES usable keys, the most capacity left
        relative to the limit, as the provider's limiter has it now and as its configured limits
        have left, ties to the fewest in flight. Nothing is charged here: see _choose.
        """
        cdef Py_ssize_t t, index
        for t in range(g.tiers):
            index = self._pick_in(g, t, now, tokens, exclude)
            if index >= 0:
                return index
        return -1

    cdef Py_ssize_t _pick_in(self, _Group g, Py_ssize_t t, int64_t now, int64_t tokens, object exclude):
        cdef Py_ssize_t start = g.tier_start[t], n = g.tier_start[t + 1] - start
        cdef Py_ssize_t i, index, best = -1, seen = 0
        cdef int64_t slot, in_flight, limit, best_in_flight = 0, total = 0
        cdef double score, room, best_score = -1e300
        cdef int64_t *k
        for i in range(n):
            if g.strategy == STRATEGY_HEADROOM and seen >= _CANDIDATES and best >= 0:
                break
            index = start + (g.tier_next[t] + i) % n
            slot = g.slot_array[index]
            k = self._region._key(slot)
            if aigw_load(k + K_STATE) != 0 or aigw_load(k + K_COOL_UNTIL) > now:
                continue
            if exclude is not None and slot in exclude:
                continue
            room = _key_limits_left(g, index, self._region.words, now, tokens)
            if room < 0:
                continue  # its configured limits cannot take this request now
            in_flight = aigw_load(k + K_IN_FLIGHT)
            if _short(k, now, tokens, in_flight):
                continue  # the provider's limiter has no room for it now
            if g.strategy == STRATEGY_ROUND_ROBIN:
                g.tier_next[t] = (index - start + 1) % n
                return index
            if g.strategy == STRATEGY_WEIGHTED:
                g.current[index] += g.weight_array[index]
                total += g.weight_array[index]
                if best < 0 or g.current[index] > g.current[best]:
                    best = index
                continue
            score = 1.0
            # What the limiter has left now, less what is in flight: past its reset a key has its
            # whole limit again, yet one back from a 429 must not win every pick until it answers.
            limit = aigw_load(k + K_LIMIT_REQUESTS)
            if limit > 0:
                score = (_available(k, now, K_REMAINING_REQUESTS, K_LEARNED_REQUESTS) - in_flight) / <double>limit
            limit = aigw_load(k + K_LIMIT_TOKENS)
            if limit > 0:
                score = min(score, (_available(k, now, K_REMAINING_TOKENS, K_LEARNED_TOKENS) - tokens) / <double>limit)
            score = min(score, room)
            seen += 1
            if best < 0 or score > best_score or (score == best_score and in_flight < best_in_flight):
                best, best_score, best_in_flight = index, score, in_flight
        if best >= 0:
            if g.strategy == STRATEGY_WEIGHTED:
                g.current[best] -= total
            else:
                # Start the next scan after this key, so equal keys share the load.
                g.tier_next[t] = (best - start + 1) % n
        return best

    cdef int64_t _earliest_recovery(self, _Group g, int64_t now, int64_t tokens):
        # A healthy key comes back when no process has it cooling, its configured limits have room
        # for this request and its provider's limiter has too (the latest of the three); exhausted
        # and invalid ones when a probe may next find them restored (a guess, but the earliest
        # honest one).
        cdef int64_t best = -1, at, wait, room
        cdef Py_ssize_t index
        cdef int64_t *k
        for index in range(g.count):
            k = self._region._key(g.slot_array[index])
            state = aigw_load(k + K_STATE)
            if state == 0:
                wait = _key_limits_wait(g, index, self._region.words, now, tokens)
                room = _provider_room_at(k, now, tokens, aigw_load(k + K_IN_FLIGHT))
                if wait < 0 or room < 0:
                    continue  # this request is larger than the key's limit allows at all
                at = max(max(aigw_load(k + K_COOL_UNTIL), now + wait), room)
            elif state == 4:
                continue
            else:
                at = aigw_load(k + K_NEXT_PROBE)
            if best < 0 or at < best:
                best = at
        if best < 0:
            best = now + 60 * 1000000000
        return best if best > now else now + 1000000

    cdef Py_ssize_t _choose(self, _Group g, int64_t now, int64_t tokens, object exclude):
        """`_pick`, then charge the key's configured limits; when another process took their last
        room between the look and the charge, look again without that key."""
        cdef Py_ssize_t index
        while True:
            index = self._pick(g, now, tokens, exclude)
            if index < 0 or self._charge_key_limits(g, index, now, tokens):
                return index
            exclude = set(exclude) if exclude is not None else set()
            exclude.add(g.slot_array[index])

    cdef bint _charge_key_limits(self, _Group g, Py_ssize_t index, int64_t now, int64_t tokens):
        cdef Py_ssize_t i, j
        cdef int64_t cost, tat = 0
        cdef _KeyLimit *b
        for i in range(g.key_limit_start[index], g.key_limit_start[index + 1]):
            b = &g.key_limits[i]
            cost = tokens if b.tokens else 1
            if cost > 0 and _take(&self._region.words[b.word], now, cost * b.emission, b.tolerance, &tat):
                for j in range(g.key_limit_start[index], i):
                    b = &g.key_limits[j]
                    cost = tokens if b.tokens else 1
                    if cost > 0:
                        aigw_add(&self._region.words[b.word], -cost * b.emission)
                return False
        return True

    cdef _settle_tokens(self, Decision d, _Limit lim, int64_t delta):
        # A token limit was charged the estimate; `delta` more (or fewer) tokens were used.
        if not lim.shared or d._share == SHARE_LOCAL:
            aigw_add(&self._region.words[lim.word], delta * lim.emission)
        elif d._share == SHARE_DEGRADED:
            aigw_add(&self._region.words[lim.word], delta * lim.emission * d._nodes)
        elif d._share == SHARE_LEASE:
            aigw_add(&self._region.words[lim.lease_units], -delta)
        # Exact: the caller settles it in Redis, from `remote`.

    cdef _settle_key_limits(self, Decision d, int64_t actual_tokens):
        # Token limits of the key were charged the estimate: settle them with what was used.
        cdef _Group g = d._group
        cdef Py_ssize_t i
        cdef _KeyLimit *b
        for i in range(g.key_limit_start[d._index], g.key_limit_start[d._index + 1]):
            b = &g.key_limits[i]
            if b.tokens:
                aigw_add(&self._region.words[b.word], (actual_tokens - d.estimated_tokens) * b.emission)

    def repick(self, Decision d, object exclude=None, int64_t now=-1, str group=None):
        """Move `d` to another usable key of its group — or of `group`, a fallback — none of the
        slots in `exclude`: None when done, else the `Rejection` to answer (nothing can serve)."""
        if now < 0:
            now = aigw_now_ns()
        if d.slot >= 0 and not d._finished:
            self._region._add_in_flight(d.slot, -1)
            self._settle_key_limits(d, 0)  # the key that failed used no tokens
        cdef _Group g = d._group if group is None else self._groups[group]
        d._group = g
        cdef Py_ssize_t index = self._choose(g, now, d.estimated_tokens, exclude)
        if index < 0:
            d.slot = -1
            d.target = None
            return _rej.pool_exhausted(g.name, self._earliest_recovery(g, now, d.estimated_tokens) - now)
        d._index = index
        d.target = g.targets[index]
        d.slot = g.slots[index]
        if not d._finished:
            self._region._add_in_flight(d.slot, 1)
        return None

    def finish(self, Decision d, int64_t actual_tokens=-1, int64_t cost_micros=-1):
        """The request is over: release its in-flight count; settle token limits and token
        budgets with the real usage (-1: usage unknown, keep the estimate) and cost budgets with
        the real cost in micro-USD. Idempotent."""
        cdef _Limit lim
        cdef _Budget b
        if d._finished:
            return
        d._finished = True
        if d.slot >= 0:
            self._region._add_in_flight(d.slot, -1)
            if actual_tokens >= 0:
                self._settle_key_limits(d, actual_tokens)
        if d._token_limits and actual_tokens >= 0 and actual_tokens != d.estimated_tokens:
            for lim in d._token_limits:
                self._settle_tokens(d, lim, actual_tokens - d.estimated_tokens)
        if d._budgets:
            for b in d._budgets:
                if b.kind == BUDGET_TOKENS and actual_tokens >= 0 and actual_tokens != d.estimated_tokens:
                    _budget_settle(&self._region.words[b.word], _period(b, d), actual_tokens - d.estimated_tokens)
                elif b.kind == BUDGET_COST and cost_micros > 0:
                    _budget_settle(&self._region.words[b.word], _period(b, d), cost_micros)


cdef inline void _note_tokens(Decision d, _Limit lim):
    # A token limit charged the estimate: finish() settles it with the real usage.
    if d._token_limits is None:
        d._token_limits = []
    d._token_limits.append(lim)


cdef inline void _note_state(Decision d, _Limit lim, int64_t remaining, int64_t reset_ns):
    # The tightest limit of each kind, for the x-ratelimit-* headers.
    if lim.tokens:
        _note_tokens(d, lim)
        if d.tokens_limit < 0 or remaining < d.tokens_remaining:
            d.tokens_limit, d.tokens_remaining, d.tokens_reset_ns = lim.amount, remaining, reset_ns
    elif d.requests_limit < 0 or remaining < d.requests_remaining:
        d.requests_limit, d.requests_remaining, d.requests_reset_ns = lim.amount, remaining, reset_ns


cdef inline tuple _asked(_Limit lim, int64_t cost, int64_t chunk):
    return (lim.id, lim.emission, lim.tolerance, cost, chunk, lim.tokens)


cdef inline void _ask_cluster(Decision d, _Limit lim, int64_t cost, int64_t chunk):
    if d.remote is None:
        d.remote = []
        d._remote_limits = []
    d.remote.append(_asked(lim, cost, chunk))
    d._remote_limits.append(lim)


cdef inline int64_t _period(_Budget b, Decision d):
    return d._day if b.period == PERIOD_DAY else d._month if b.period == PERIOD_MONTH else 0


cdef inline int64_t _budget_charge(_Budget b, Decision d):
    return 1 if b.kind == BUDGET_REQUESTS else d.estimated_tokens if b.kind == BUDGET_TOKENS else 0


cdef inline object _refused(object rejection, _Consumer c):
    # Who was refused, for the call log: the key was good, a limit or budget said no.
    rejection.consumer = (c.key_id, c.tenant, c.app)
    return rejection
