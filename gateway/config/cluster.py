"""The `cluster:` section: the Redis every node of a cluster shares ([cluster](cluster.md)).

It lives here, beside the other sections, so the config stays a layer every other one may read.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from .values import Seconds

REDIS_SCHEMES = ("redis", "rediss", "redis+sentinel", "rediss+sentinel", "redis+cluster", "rediss+cluster")


class ClusterConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Cluster state shared through Redis: global limits and budgets, key health, node membership.
    Without `redis_url` the node is on its own."""

    redis_url: Annotated[
        str,
        Meta(
            pattern=r"^((redis|rediss)(\+sentinel|\+cluster)?://\S+)?$",
            title="a redis://, rediss://, redis+sentinel:// or redis+cluster:// URL",
            description="Redis every node shares: `redis://[:password@]host:6379/0`, `rediss://…` for "
            "TLS, `redis+sentinel://host:26379,host2:26379/mymaster/0` for a Sentinel-managed primary, "
            "`redis+cluster://host:7000,host2:7000` for a Redis Cluster (`${ENV}` for the password). "
            "Needs the shared PostgreSQL store (`store.url`)",
        ),
    ] = ""
    limits: Annotated[
        Literal["lease", "exact"],
        Meta(
            description="how limits are shared: `lease` (each node takes capacity from Redis in chunks "
            "and spends it in shared memory, no Redis round trip on a request's path while it has "
            "some; cluster-wide error at most nodes x chunk) or `exact` (every request charges every "
            "limit it is subject to in Redis, all or none, in one script call; one round trip per "
            "request)"
        ),
    ] = "lease"
    lease_ms: Annotated[
        Seconds,
        Meta(
            description="lease mode: a chunk is this many milliseconds of a limit's rate (at least 1 "
            "unit, at most its burst); smaller chunks mean a tighter bound and more Redis calls"
        ),
    ] = 20.0
    prefix: Annotated[
        str,
        Meta(
            pattern=r"^[A-Za-z0-9_:.-]{1,64}$",
            title="letters, digits and _ : . -",
            description="names every key aigw keeps in Redis (`{prefix}` as their hash tag), so "
            "several clusters can share one Redis",
        ),
    ] = "aigw"
    heartbeat_s: Annotated[Seconds, Meta(description="how often each node says it is alive")] = 1.0
    node_timeout_s: Annotated[
        Seconds,
        Meta(
            description="a node not heard from for this long is no longer counted live (it is listed "
            "as `lost`)"
        ),
    ] = 5.0
    budget_sync_s: Annotated[
        Seconds,
        Meta(description="how often each node adds its budget usage to the cluster's and reads the total"),
    ] = 0.2
    timeout_s: Annotated[
        Seconds,
        Meta(
            description="a Redis call that takes longer fails; the node then serves on local state "
            "(degraded) until Redis answers again"
        ),
    ] = 0.25

    def __repr__(self) -> str:
        # The URL's password never appears in a repr.
        url = re.sub(r":[^:@/]*@", ":***@", self.redis_url)
        return f"ClusterConfig(redis_url={url!r}, limits={self.limits!r})"
