"""Cluster state shared through Redis: node membership, key health, global limits and budgets.

The node's shared memory stays the fast path of every request; this package keeps it in step
with the other nodes, and says when it cannot (degraded) — see docs/cluster.md.
"""

# The node's id in the cluster, which the supervisor gives its workers.
NODE_ENV = "AIGW_NODE"
