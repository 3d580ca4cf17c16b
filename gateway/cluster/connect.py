"""A Redis client from `cluster.redis_url`, whatever the topology: one server (`redis://`,
`rediss://` for TLS), a primary found through Sentinel (`redis+sentinel://h1:26379,h2:26379/name/db`)
or a Redis Cluster (`redis+cluster://h1:7000,h2:7000`).

Every call is bounded by `timeout_s` and retried once on a new connection (a pooled connection
to a server that restarted fails once), so an unreachable Redis costs a caller one timeout and
the node turns degraded instead of waiting.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff


def redacted(url: str) -> str:
    """`url` without its password."""
    return re.sub(r"(://[^:@/]*:)[^@/]*@", r"\1***@", url)


def _hosts(netloc: str, default_port: int) -> list[tuple[str, int]]:
    """`h1:p1,h2,[::1]:p3` (after any credentials) as (host, port) pairs."""
    out = []
    for part in netloc.rpartition("@")[2].split(","):
        host, sep, port = part.rpartition(":")
        if not sep or not port.isdigit():
            host, port = part, str(default_port)
        out.append((host.strip("[]"), int(port)))
    return out


def connect(url: str, timeout_s: float, client_name: str = "aigw", reads_wait: bool = False) -> Any:
    """A client for `url` (redis.asyncio.Redis or RedisCluster); connections open on first use.
    `reads_wait`: a read may wait as long as it takes (a pub/sub subscriber's)."""
    parts = urlsplit(url)
    scheme = parts.scheme
    tls = scheme.startswith("rediss")
    options: dict[str, Any] = {
        "socket_timeout": None if reads_wait else timeout_s,
        "socket_connect_timeout": timeout_s,
        "retry": Retry(NoBackoff(), 1),
        "client_name": client_name,
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
    }
    if scheme in ("redis", "rediss"):
        return Redis.from_url(url, **{k: v for k, v in options.items() if k not in ("username", "password")})
    path = [p for p in parts.path.split("/") if p]
    if scheme.endswith("+sentinel"):
        if not path:
            raise ValueError(
                "a redis+sentinel:// URL names the primary: redis+sentinel://host:26379/name[/db]"
            )
        sentinel = Sentinel(
            _hosts(parts.netloc, 26379),
            sentinel_kwargs={"socket_timeout": timeout_s, "socket_connect_timeout": timeout_s},
            ssl=tls,
            db=int(path[1]) if len(path) > 1 else 0,
            **options,
        )
        return sentinel.master_for(path[0])
    if scheme.endswith("+cluster"):
        nodes = [ClusterNode(host, port) for host, port in _hosts(parts.netloc, 6379)]
        return RedisCluster(startup_nodes=nodes, ssl=tls, **options)
    raise ValueError(f"not a Redis URL: {redacted(url)}")
