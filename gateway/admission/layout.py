"""The shared-memory layout both admission implementations use (all fields are 64-bit words).

Bump LAYOUT_VERSION on any change: a process refuses a region of another version, so workers of
an old and a new build can never misread each other's counters.

    header      64 words   magic, version, max_workers, bucket_capacity, key_capacity, and the
                cluster's state as the supervisor last saw it (mode, degraded, live nodes, lease)
    workers     max_workers x 2 words: [pid of the process owning the row (0: free), the store
                generation its tables were built from (0: none yet)]
    buckets     bucket_capacity x 2 words: [id, theoretical arrival time (ns)] for a limit, or
                [BUDGET_TAG | id, period index << BUDGET_SHIFT | amount used] for a budget
    keys        key_capacity x 24 words: see the K_* indexes below
    in_flight   max_workers x key_capacity words
"""

MAGIC = 0x41494757_53484D31  # "AIGWSHM1"
LAYOUT_VERSION = 7
HEADER_WORDS = 64
WORKER_WORDS = 2
BUCKET_WORDS = 2
KEY_WORDS = 24

# Header word indexes.
H_MAGIC, H_VERSION, H_MAX_WORKERS, H_BUCKETS, H_KEYS = 0, 1, 2, 3, 4
# The cluster (gateway/cluster): how shared limits are charged (CLUSTER_*), whether Redis is
# unreachable (1: degraded, every shared limit is this node's share of it, charged here), how many
# nodes were live when it was last reachable, and a lease's length in ns.
H_CLUSTER_MODE, H_DEGRADED, H_LIVE_NODES, H_LEASE_NS = 5, 6, 7, 8
CLUSTER_NONE, CLUSTER_LEASE, CLUSTER_EXACT = 0, 1, 2

# Worker row word indexes. A worker publishes the generation it serves after each table build, so
# the admin listener can answer a change once every live worker has loaded it.
W_PID, W_GENERATION = 0, 1

# A budget's counter is one word in the buckets table, so a charge, a settlement and a period
# rollover are each one compare-and-swap: the period it counts (UTC days or months since 1970, 0
# for lifetime) in the top 16 bits, the amount used in the low 47. Its id is tagged so it never
# meets a limit's bucket.
BUDGET_TAG = 1 << 62
BUDGET_SHIFT = 47
BUDGET_USED_MAX = (1 << BUDGET_SHIFT) - 1
# The largest budget amount: half the counter, so usage past a used-up budget still fits.
BUDGET_MAX = BUDGET_USED_MAX // 2

# A shared limit's lease on this node (lease mode), three bucket words under its id so tagged:
# the units it may still spend, until when the cluster is known to have none (ns), and since when
# a refill is under way (ns; 0: none).
LEASE_UNITS_TAG = 1 << 61
LEASE_EMPTY_TAG = 1 << 60
LEASE_REFILL_TAG = 1 << 59

# Key record word indexes. What the provider said (remaining/reset/limit) is valid while its
# reset time is in the future; a zeroed record therefore means "healthy, nothing known".
K_ID = 0
K_STATE = 1  # one of the STATE_* below; cooling is not a state but cool_until > now
K_COOL_UNTIL = 2  # ns (CLOCK_MONOTONIC)
K_IN_FLIGHT = 3  # node-wide total; the per-process rows below are what reconciliation trusts
K_REMAINING_REQUESTS = 4
K_RESET_REQUESTS = 5  # ns
K_LIMIT_REQUESTS = 6
K_REMAINING_TOKENS = 7
K_RESET_TOKENS = 8  # ns
K_LIMIT_TOKENS = 9
K_FAILURES = 10  # consecutive rate-limit answers without a reset time: the backoff exponent
K_CHANGED = 11  # ns of the last state change
K_NEXT_PROBE = 12  # ns: when the prober may next try an exhausted or invalid key
K_COOL_CAUSE = 13  # why the key is cooling: one of the COOL_* below, set with the cooldown
K_LIMITER = 14  # how the key's provider refills its limits: one of the LIMITER_* below
K_LEARNED_REQUESTS = 15  # ns: when the requests figures above were learnt
K_LEARNED_TOKENS = 16  # ns: likewise the tokens figures

# A provider's limiter (gateway/admission/limiter.py): a bucket that refills continuously, whose
# reset is when it is full again, or a window whose reset is when all of it comes back at once.
LIMITER_CONTINUOUS, LIMITER_FIXED_WINDOW = 1, 2
LIMITERS = {"continuous": LIMITER_CONTINUOUS, "fixed_window": LIMITER_FIXED_WINDOW}

STATE_HEALTHY, STATE_EXHAUSTED, STATE_INVALID, STATE_DISABLED = 0, 2, 3, 4
STATE_NAMES = {
    STATE_HEALTHY: "healthy",
    STATE_EXHAUSTED: "exhausted",
    STATE_INVALID: "invalid",
    STATE_DISABLED: "disabled",
}

# Why a key is cooling (K_COOL_CAUSE): the provider rate-limited it, or it rests after failures
# (server errors, or a transport failure of each kind: gateway/keypool/health.py).
COOL_RATE_LIMITED, COOL_SERVER_ERRORS, COOL_UNREACHABLE, COOL_TIMEOUT, COOL_BROKEN = 1, 2, 3, 4, 5
COOL_NAMES = {
    COOL_RATE_LIMITED: "rate_limited",
    COOL_SERVER_ERRORS: "server_errors",
    COOL_UNREACHABLE: "unreachable",
    COOL_TIMEOUT: "timeout",
    COOL_BROKEN: "broken_connection",
}

DEFAULT_MAX_WORKERS = 64


def region_words(max_workers: int, bucket_capacity: int, key_capacity: int) -> int:
    return (
        HEADER_WORDS
        + max_workers * WORKER_WORDS
        + bucket_capacity * BUCKET_WORDS
        + key_capacity * KEY_WORDS
        + max_workers * key_capacity
    )


def offsets(max_workers: int, bucket_capacity: int, key_capacity: int) -> tuple[int, int, int, int]:
    """Word offsets of the workers, buckets, keys and in-flight sections."""
    workers = HEADER_WORDS
    buckets = workers + max_workers * WORKER_WORDS
    keys = buckets + bucket_capacity * BUCKET_WORDS
    in_flight = keys + key_capacity * KEY_WORDS
    return workers, buckets, keys, in_flight


def key_id(provider: str, key: str) -> int:
    """A stable non-zero 63-bit id for an upstream key (FNV-1a), the same in every process."""
    h = 0xCBF29CE484222325
    for byte in f"{provider}\0{key}".encode():
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return (h & 0x7FFFFFFFFFFFFFFF) or 1
