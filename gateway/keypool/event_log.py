"""The node's recent key events, kept in memory for the admin API: the supervisor's watcher
appends each transition, and readers page through them by sequence number (so a client polling
with `after=` the last number it saw gets each event once, in order)."""

from __future__ import annotations

from collections import deque

import msgspec

from .events import KeyEvent

# A few per key of a large pool; a reader that falls further behind is told it missed some.
CAPACITY = 1000


class KeyEventPage(msgspec.Struct, kw_only=True):
    """Events after the sequence number asked for, oldest first."""

    events: list[KeyEvent]
    # The sequence number of the last event in `events` (else of the newest there is, which is
    # below `after` when the node restarted since): pass it back as `after` for later ones.
    last: int
    # True when events after the one asked for were already dropped (older than the last CAPACITY).
    missed: bool = False


class KeyEventLog:
    def __init__(self, capacity: int = CAPACITY):
        self._events: deque[tuple[int, KeyEvent]] = deque(maxlen=capacity)
        self._last = 0

    def append(self, event: KeyEvent) -> None:
        self._last += 1
        self._events.append((self._last, event))

    def after(self, seq: int, limit: int) -> KeyEventPage:
        """At most `limit` events numbered above `seq`, oldest first."""
        newer = [(n, e) for n, e in self._events if n > seq][:limit]
        oldest = self._events[0][0] if self._events else self._last + 1
        return KeyEventPage(
            events=[e for _, e in newer],
            last=newer[-1][0] if newer else self._last,
            missed=seq + 1 < oldest and self._last > seq,
        )
