"""Node membership: each node's supervisor writes a heartbeat into one hash; every node reads the
hash to count the live ones (a limit's share while Redis is unreachable is 1/live) and to answer
`GET /admin/cluster` and `aigw cluster status`."""

from __future__ import annotations

import socket
import time

import msgspec

from .._version import __version__

# A node's state as it says it: serving (Redis reachable), degraded (serving on local state), or
# draining (SIGTERM: finishing what it holds). Readers add `lost`: not heard from in time.
SERVING, DEGRADED, DRAINING, LOST = "serving", "degraded", "draining", "lost"
# A node not heard from for this many node timeouts is dropped from the hash, not only listed lost.
FORGET_AFTER = 60


class NodeInfo(msgspec.Struct, kw_only=True):
    """One node as the cluster sees it."""

    id: str  # host:port of its data plane
    version: str
    state: str
    # The oldest store generation a worker of the node serves (every change up to it is in force).
    generation: int
    workers: int
    started: float  # Unix seconds
    heartbeat: float  # Unix seconds of its last heartbeat
    admin_url: str


class ClusterStatus(msgspec.Struct, kw_only=True):
    """What this node knows of the cluster."""

    node: str  # this node's id
    clustered: bool  # false: a node on its own (no cluster.redis_url)
    redis: str  # connected, unreachable, or none
    limits: str  # lease, exact, or local
    degraded: bool
    degraded_since: float | None = None  # Unix seconds
    live_nodes: int
    nodes: list[NodeInfo]


ENCODER = msgspec.json.Encoder()
DECODER = msgspec.json.Decoder(NodeInfo)


def node_id(port: int) -> str:
    return f"{socket.gethostname()}:{port}"


def as_seen(nodes: list[NodeInfo], now: float, timeout_s: float) -> list[NodeInfo]:
    """`nodes` sorted by id, each not heard from within `timeout_s` marked lost."""
    return sorted(
        (n if now - n.heartbeat <= timeout_s else msgspec.structs.replace(n, state=LOST) for n in nodes),
        key=lambda n: n.id,
    )


def live_count(nodes: list[NodeInfo]) -> int:
    return sum(1 for n in nodes if n.state not in (LOST, DRAINING))


def alone(node: str, workers: int, admin_url: str, started: float, generation: int) -> ClusterStatus:
    """A node without a cluster: itself, serving."""
    me = NodeInfo(
        id=node,
        version=__version__,
        state=SERVING,
        generation=generation,
        workers=workers,
        started=started,
        heartbeat=time.time(),
        admin_url=admin_url,
    )
    return ClusterStatus(
        node=node, clustered=False, redis="none", limits="local", degraded=False, live_nodes=1, nodes=[me]
    )
