"""The names aigw gives its keys and channel in Redis. Every one carries the hash tag `{prefix}`,
so on a Redis Cluster they all live in one slot and a script may touch any of them at once (the
limits of one request are charged in one call); several clusters share a Redis by prefix."""

from __future__ import annotations


class Names:
    def __init__(self, prefix: str):
        self.tag = "{" + prefix + "}"
        self.nodes = f"{self.tag}:nodes"  # hash: node id -> NodeInfo (JSON)
        self.keys = f"{self.tag}:keys"  # hash: provider key id -> KeyHealthRecord (JSON)
        self.events = f"{self.tag}:key-events"  # channel: KeyHealthRecord (JSON) as each changes

    def limit(self, limit_id: int) -> str:
        """A shared limit's GCRA state: its theoretical arrival time, in µs of Redis's clock."""
        return f"{self.tag}:limit:{limit_id}"

    def budget(self, budget_id: int, period: int) -> str:
        """What the cluster used of a budget in one period."""
        return f"{self.tag}:budget:{budget_id}:{period}"
