"""cluster.redis_url's three topologies against real servers on loopback: a Redis Cluster of three
masters (every aigw key hashes to one slot, so the script charging several limits at once runs
there, and pub/sub reaches a subscriber), and a primary found through Sentinel."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.exceptions import RedisClusterException

from bench.procs import free_port
from gateway.cluster.budgets import ADD
from gateway.cluster.connect import connect
from gateway.cluster.names import Names
from gateway.cluster.scripts import CHARGE

from .conftest import wait_until

NAMES = Names("aigw")
# A limit of one a second with a burst of 5 (T and τ in µs): slow enough that the moments between
# calls change nothing.
LIMIT = [1e6, 5e6]


class Servers:
    """redis-server processes in a directory of their own."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="aigw-redis-topology-"))
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str) -> None:
        log = self.dir / f"{len(self.procs)}.log"
        self.procs.append(subprocess.Popen(["redis-server", *args, "--logfile", str(log)], cwd=self.dir))

    def ping(self, port: int) -> bool:
        out = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True)
        return out.stdout.strip() == "PONG"

    def close(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            p.wait(timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def servers() -> Iterator[Servers]:
    made = Servers()
    yield made
    made.close()


def cluster_port() -> int:
    """A free port whose cluster bus port (10,000 above it) is free and valid too."""
    while True:
        port = free_port()
        if port + 10000 <= 65535:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port + 10000)) != 0:
                    return port


def test_a_redis_cluster_runs_the_multi_limit_script_in_one_slot(servers: Servers):
    ports = [cluster_port() for _ in range(3)]
    for port in ports:
        servers.start(
            "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
            "--cluster-config-file", f"nodes-{port}.conf", "--save", "", "--appendonly", "no",
        )  # fmt: skip
    for port in ports:
        wait_until(lambda port=port: servers.ping(port), "the node answers")
    made = subprocess.run(
        ["redis-cli", "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports), "--cluster-yes"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stdout + made.stderr

    def ready() -> bool:
        out = subprocess.run(
            ["redis-cli", "-p", str(ports[0]), "cluster", "info"], capture_output=True, text=True
        )
        return "cluster_state:ok" in out.stdout

    wait_until(ready, "the cluster covers every slot")

    async def scenario() -> None:
        client = connect(f"redis+cluster://127.0.0.1:{ports[0]},127.0.0.1:{ports[1]}", 2.0)
        try:
            keys = [NAMES.limit(1), NAMES.limit(2), NAMES.budget(7, 20000)]
            assert len({client.keyslot(k) for k in keys}) == 1  # the hash tag: one slot
            charge = client.register_script(CHARGE)
            # Two limits charged at once, all or none, a second time past the burst of neither.
            first = await charge(keys=keys[:2], args=[*LIMIT, 3, 0, *LIMIT, 3, 0])
            assert first[0] == 1 and first[1] == 3 and first[3] == 3
            refused = await charge(keys=keys[:2], args=[*LIMIT, 1, 0, *LIMIT, 3, 0])
            assert refused[0] == 0 and refused[1] == 2  # the second limit has no room for 3 more
            assert (await charge(keys=keys[:1], args=[*LIMIT, 2, 0]))[0] == 1  # the first took none
            assert int(await client.register_script(ADD)(keys=keys[2:], args=[0, 40, 0])) == 40
            # Without the tag two limits may live on two masters: no script could take both.
            with pytest.raises(RedisClusterException, match="same key slot"):
                await charge(keys=["limit:a", "limit:b"], args=[*LIMIT, 1, 0, *LIMIT, 1, 0])
        finally:
            await client.aclose()

    asyncio.run(scenario())


def test_a_primary_found_through_sentinel(servers: Servers):
    primary, sentinel = free_port(), free_port()
    servers.start("--port", str(primary), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
    wait_until(lambda: servers.ping(primary), "the primary answers")
    conf = servers.dir / "sentinel.conf"
    conf.write_text(f"port {sentinel}\nbind 127.0.0.1\nsentinel monitor mymaster 127.0.0.1 {primary} 1\n")
    servers.start(str(conf), "--sentinel")
    wait_until(lambda: servers.ping(sentinel), "the sentinel answers")

    async def scenario() -> None:
        client = connect(f"redis+sentinel://127.0.0.1:{sentinel}/mymaster/0", 2.0)
        try:
            charge = client.register_script(CHARGE)
            assert (await charge(keys=[NAMES.limit(1)], args=[*LIMIT, 1, 4]))[:2] == [1, 5]
            assert await client.get(NAMES.limit(1)) is not None  # stored on the primary
        finally:
            await client.aclose()

    asyncio.run(scenario())
