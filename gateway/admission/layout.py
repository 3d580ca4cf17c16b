"""The shared-memory layout both admission implementations use (all fields are 64-bit words).

Bump LAYOUT_VERSION on any change: a process refuses a region of another version, so workers of
an old and a new build can never misread each other's counters.

    header      64 words   magic, version, max_workers, bucket_capacity, key_capacity, ...
    workers     max_workers words: pid of the process owning each in-flight row (0: free)
    buckets     bucket_capacity x 2 words: [id, theoretical arrival time (ns)]
    keys        key_capacity x 8 words: [id, state, cool_until_ns, remaining_requests,
                remaining_tokens, reset_requests_ns, reset_tokens_ns, changed_ns]
    in_flight   max_workers x key_capacity words
"""

MAGIC = 0x41494757_53484D31  # "AIGWSHM1"
LAYOUT_VERSION = 1
HEADER_WORDS = 64
BUCKET_WORDS = 2
KEY_WORDS = 8

# Header word indexes.
H_MAGIC, H_VERSION, H_MAX_WORKERS, H_BUCKETS, H_KEYS = 0, 1, 2, 3, 4

# Key record word indexes.
K_ID, K_STATE, K_COOL_UNTIL = 0, 1, 2

DEFAULT_MAX_WORKERS = 64


def region_words(max_workers: int, bucket_capacity: int, key_capacity: int) -> int:
    return (
        HEADER_WORDS
        + max_workers
        + bucket_capacity * BUCKET_WORDS
        + key_capacity * KEY_WORDS
        + max_workers * key_capacity
    )


def offsets(max_workers: int, bucket_capacity: int, key_capacity: int) -> tuple[int, int, int, int]:
    """Word offsets of the workers, buckets, keys and in-flight sections."""
    workers = HEADER_WORDS
    buckets = workers + max_workers
    keys = buckets + bucket_capacity * BUCKET_WORDS
    in_flight = keys + key_capacity * KEY_WORDS
    return workers, buckets, keys, in_flight


def key_id(provider: str, key: str) -> int:
    """A stable non-zero 63-bit id for an upstream key (FNV-1a), the same in every process."""
    h = 0xCBF29CE484222325
    for byte in f"{provider}\0{key}".encode():
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return (h & 0x7FFFFFFFFFFFFFFF) or 1
