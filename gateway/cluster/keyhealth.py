"""Key health across the cluster: what one node learns about a provider key — a cooldown, an
exhausted quota, a refused (invalid) key, the headroom the provider reported — reaches every
node's shared key table.

Each change is published on a channel (a node's supervisor applies what it receives to its
region, so its workers act on it at once) and stored in a hash with an expiry time, so a node
that missed a message, or just started, reads the current state. Times travel as Unix time: each
host's key table runs on its own monotonic clock.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec

from ..admission.layout import COOL_RATE_LIMITED, STATE_DISABLED, STATE_HEALTHY

# How long a record of an exhausted or invalid key is kept without news: its probes run on every
# node, and the first that finds it recovered says so.
STATE_TTL_S = 86400.0
# A worker publishes what the provider said about a key's headroom at most this often.
LEARN_EVERY_S = 0.1

# HSET the record, PUBLISH it: one round trip, one slot.
STORE_AND_PUBLISH = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[2])
return 1
"""


class KeyHealthRecord(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One provider key's health as a node saw it; times are Unix seconds (0: none)."""

    key: int  # layout.key_id(provider, key id): the same on every node of one config
    node: str  # who saw it
    at: float  # when
    state: int = STATE_HEALTHY
    cool_until: float = 0.0
    next_probe: float = 0.0
    remaining_requests: int = -1
    reset_requests: float = 0.0
    limit_requests: int = -1
    remaining_tokens: int = -1
    reset_tokens: float = 0.0
    limit_tokens: int = -1
    expires: float = 0.0  # after this, the record says nothing any more


ENCODER = msgspec.json.Encoder()
DECODER = msgspec.json.Decoder(KeyHealthRecord)


class Clock:
    """Monotonic ns (the key table's clock) to Unix seconds and back, from one reading of both."""

    def __init__(self) -> None:
        self.mono = time.monotonic_ns()
        self.wall = time.time()

    def to_wall(self, mono_ns: int) -> float:
        return self.wall + (mono_ns - self.mono) / 1e9 if mono_ns > 0 else 0.0

    def to_mono(self, wall_s: float) -> int:
        return self.mono + int((wall_s - self.wall) * 1e9) if wall_s > 0 else 0


def record_of(region: Any, slot: int, key: int, node: str) -> KeyHealthRecord:
    """The key's record in the region, as it travels."""
    r = region.record(slot)
    clock = Clock()
    state = r["state"] if r["state"] != STATE_DISABLED else STATE_HEALTHY  # an operator's, per node
    learned: dict[str, Any] = {}
    if r["reset_requests"] > clock.mono:
        learned.update(
            remaining_requests=r["remaining_requests"],
            reset_requests=clock.to_wall(r["reset_requests"]),
            limit_requests=r["limit_requests"],
        )
    if r["reset_tokens"] > clock.mono:
        learned.update(
            remaining_tokens=r["remaining_tokens"],
            reset_tokens=clock.to_wall(r["reset_tokens"]),
            limit_tokens=r["limit_tokens"],
        )
    # A rate limit is the provider's word about the key, for every node; a rest after server or
    # transport failures is this node's (its path to the provider may be what fails).
    cooling = r["cool_until"] > clock.mono and r["cool_cause"] == COOL_RATE_LIMITED
    cool_until = clock.to_wall(r["cool_until"]) if cooling else 0.0
    lasts = [cool_until, learned.get("reset_requests", 0.0), learned.get("reset_tokens", 0.0)]
    if state != STATE_HEALTHY:
        lasts.append(clock.wall + STATE_TTL_S)
    return KeyHealthRecord(
        key=key,
        node=node,
        at=clock.wall,
        state=state,
        cool_until=cool_until,
        next_probe=clock.to_wall(r["next_probe"]) if state != STATE_HEALTHY else 0.0,
        expires=max(*lasts, clock.wall + 1.0),
        **learned,
    )


def apply(region: Any, record: KeyHealthRecord) -> bool:
    """Bring the key's record in the region up to what `record` says; False when it says nothing
    new (expired, or older than what the region holds)."""
    clock = Clock()
    if record.expires <= clock.wall:
        return False
    slot = region.key_slot(record.key)
    if record.cool_until > clock.wall:
        # Never shortens a cooldown.
        region.cool(slot, clock.to_mono(record.cool_until), COOL_RATE_LIMITED)
    current = region.state(slot)
    if current != STATE_DISABLED and current != record.state:
        changed = region.record(slot)["changed"]
        if clock.to_mono(record.at) > changed:
            region.set_state(slot, record.state, clock.to_mono(record.at), clock.to_mono(record.next_probe))
    if record.reset_requests > clock.wall or record.reset_tokens > clock.wall:
        region.learn(
            slot,
            record.remaining_requests,
            clock.to_mono(record.reset_requests) if record.reset_requests > clock.wall else -1,
            record.limit_requests,
            record.remaining_tokens,
            clock.to_mono(record.reset_tokens) if record.reset_tokens > clock.wall else -1,
            record.limit_tokens,
        )
    return True


def fingerprint(region: Any, slot: int) -> tuple[int, int, int]:
    """What a change of the key's health changes (not the headroom, which every answer moves)."""
    r = region.record(slot)
    return (r["state"], r["cool_until"], r["next_probe"])
