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
    # What the provider last said about the key's headroom, when it said it, and how its limits
    # refill (layout.LIMITER_*): a receiver reckons what is left now as the sender would.
    limiter: int = 0
    remaining_requests: int = -1
    reset_requests: float = 0.0
    limit_requests: int = -1
    learned_requests: float = 0.0
    remaining_tokens: int = -1
    reset_tokens: float = 0.0
    limit_tokens: int = -1
    learned_tokens: float = 0.0
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
    for kind in ("requests", "tokens"):
        if r[f"reset_{kind}"] > clock.mono:
            learned.update(
                {
                    f"remaining_{kind}": r[f"remaining_{kind}"],
                    f"reset_{kind}": clock.to_wall(r[f"reset_{kind}"]),
                    f"limit_{kind}": r[f"limit_{kind}"],
                    f"learned_{kind}": clock.to_wall(r[f"learned_{kind}"]),
                }
            )
    if learned:
        learned["limiter"] = r["limiter"]
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
    held = region.record(slot)
    # Each kind of figure as the provider said it, if it is still good and newer than what this
    # node learnt itself: the latest answer is the provider's own up-to-date count.
    if record.reset_requests > clock.wall:
        learned_at = clock.to_mono(record.learned_requests)
        if learned_at > held["learned_requests"]:
            region.learn(
                slot, record.limiter, learned_at,
                record.remaining_requests, clock.to_mono(record.reset_requests), record.limit_requests,
                -1, -1, -1,
            )  # fmt: skip
    if record.reset_tokens > clock.wall:
        learned_at = clock.to_mono(record.learned_tokens)
        if learned_at > held["learned_tokens"]:
            region.learn(
                slot, record.limiter, learned_at,
                -1, -1, -1,
                record.remaining_tokens, clock.to_mono(record.reset_tokens), record.limit_tokens,
            )  # fmt: skip
    return True


def fingerprint(region: Any, slot: int) -> tuple[int, int, int]:
    """What a change of the key's health changes (not the headroom, which every answer moves)."""
    r = region.record(slot)
    return (r["state"], r["cool_until"], r["next_probe"])
