"""A cluster on loopback: three nodes of `aigw serve --workers 2` sharing a PostgreSQL database
and a redis-server, behind the shipped nginx config (deploy/lb/nginx.conf), calling one mock
provider of the test's own (so the test can read the mock's request log)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from bench.services import PostgresServer, RedisServer

from ..deploy.balancers import Backend, Nginx
from ..deploy.proctree import tree
from ..e2e.conftest import Gateway, free_port, pool_yaml, start_upstream_mock, stop_upstream_mock, until
from ..stores import TEST_DATA_KEY

NODES = 3
# Provider keys of the mock: k1..k4, each `sk-<id>`.
KEYS = ("k1", "k2", "k3", "k4")
DEADLINE_S = 30.0


def wait_until(check: Callable[[], Any], what: str, timeout_s: float = DEADLINE_S) -> Any:
    """Poll `check` (a state other processes change) until it is truthy; fail after the bound."""
    return until(check, what, timeout_s)


class Cluster:
    def __init__(
        self,
        tmp: Path,
        database_url: str,
        redis: RedisServer,
        upstream: str,
        limits: str = "lease",
        extra: str = "",
    ):
        self.redis = redis
        self.database_url = database_url
        cluster_yaml = f"""
cluster:
  redis_url: {redis.url}
  limits: {limits}
  heartbeat_s: 0.5
  node_timeout_s: 3
"""
        # Probes of refused or exhausted keys stay out of the tests' way.
        provider = pool_yaml(upstream, *KEYS, extra=extra + cluster_yaml).replace(
            "    type: openai\n",
            "    type: openai\n    probe_interval_s: 600\n    invalid_probe_interval_s: 600\n",
        )
        self.nodes = []
        for i in range(NODES):
            (tmp / f"node{i}").mkdir()
            self.nodes.append(Gateway(tmp / f"node{i}", provider, workers=2, store_url=database_url))
        self.lb: Nginx | None = None
        try:
            self._start_all()
            (tmp / "lb").mkdir()
            self.lb = Nginx(tmp / "lb", free_port(), [Backend(n.port, n.admin_port) for n in self.nodes])
            wait_until(
                lambda: all(
                    n.admin("GET", "/admin/cluster").json()["live_nodes"] == NODES for n in self.nodes
                ),
                "every node sees three live nodes",
            )
        except BaseException:
            self.close()
            raise

    def _start_all(self) -> None:
        # In parallel: each start waits for its node's banner. The first to migrate the database
        # makes the others wait for it (an advisory lock).
        failures: list[BaseException] = []

        def start(node: Gateway) -> None:
            try:
                node.start()
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=start, args=(n,)) for n in self.nodes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if failures:
            raise failures[0]

    @property
    def url(self) -> str:
        assert self.lb is not None
        return self.lb.url

    def node_of(self, request_id: str) -> int:
        """Which node answered: x-request-id carries the worker's pid."""
        pid = int(request_id.split("_")[1], 16)
        return next(i for i, n in enumerate(self.nodes) if n.proc and pid in tree(n.proc.pid))

    def close(self) -> None:
        if self.lb is not None:
            self.lb.stop()
        for node in self.nodes:
            if node.proc is not None and node.proc.poll() is None:
                node.stop()


@pytest.fixture(scope="module")
def database(postgres_server: PostgresServer) -> Iterator[str]:
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture(scope="module")
def module_redis() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.close()


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    """A mock OpenAI provider every node calls, with keys k1..k4 (sk-k1..sk-k4)."""
    proc, url = start_upstream_mock(*(a for k in KEYS for a in ("--key", f"{k}=sk-{k}")))
    yield url
    stop_upstream_mock(proc)


@pytest.fixture(scope="module", autouse=True)
def shared_data_key() -> Iterator[None]:
    # Provider keys added at runtime are sealed under a data key every node shares.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIGW_SECRET_KEY", TEST_DATA_KEY)
        yield


class Load:
    """Client processes sending chat completions through `url` until `stop()` (or for `seconds`);
    `answers` grows as they arrive, each as {status, request_id, sent, answered}."""

    def __init__(self, url: str, key: str, seconds: float = 0, processes: int = 3, threads: int = 4):
        self.answers: list[dict[str, Any]] = []
        self._procs = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.cluster.client", url, key, str(seconds), str(threads)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(processes)
        ]
        self._readers = [threading.Thread(target=self._read, args=(p,), daemon=True) for p in self._procs]
        for reader in self._readers:
            reader.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.answers.append(json.loads(line))  # list.append is atomic: the readers share it

    def wait_for(self, more: int, what: str) -> None:
        """Wait until `more` answers beyond those already in have arrived."""
        target = len(self.answers) + more
        wait_until(lambda: len(self.answers) >= target, what)

    def wait_sent_after(self, moment: float, what: str) -> None:
        """Wait until an answer to a request sent after `moment` has arrived."""
        wait_until(lambda: any(a["sent"] > moment for a in self.answers[-50:]), what)

    def stop(self) -> list[dict[str, Any]]:
        for proc in self._procs:
            assert proc.stdin is not None
            proc.stdin.close()
        return self.finish()

    def finish(self, timeout_s: float = 120) -> list[dict[str, Any]]:
        """Wait for the clients to end; every answer."""
        for proc in self._procs:
            assert proc.wait(timeout=timeout_s) == 0
        for reader in self._readers:
            reader.join()
        return self.answers

    def __enter__(self) -> Load:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def hammer(url: str, key: str, seconds: float, processes: int = 3, threads: int = 4) -> list[dict[str, Any]]:
    """Several client processes send chat completions through `url` for `seconds`; every answer."""
    return Load(url, key, seconds, processes, threads).finish(timeout_s=seconds + 120)


def chat(url: str, key: str, **kwargs: Any) -> httpx.Response:
    return httpx.post(
        url + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": "chat", "messages": [{"role": "user", "content": "hi"}]},
        timeout=30,
        **kwargs,
    )


def served_everywhere(cluster: Cluster) -> None:
    """Wait until every worker of every node serves the store as it is now (the admin API answers
    a change once its own node's workers serve it; the others follow the notification)."""
    generation = cluster.nodes[0].admin("GET", "/ready").json()["generation"]
    for node in cluster.nodes:
        wait_until(
            lambda node=node: node.admin("GET", "/ready").json()["loaded_generation"] >= generation,
            "every worker of every node serves the change",
        )


def new_key(cluster: Cluster) -> tuple[str, str]:
    """A new consumer key of the app `demo`, served by every node: the key and its id."""
    made = cluster.nodes[0].admin("POST", "/admin/keys", json={"app": "demo"}).json()
    served_everywhere(cluster)
    return made["key"], made["record"]["id"]


def limit_app(cluster: Cluster, rate: int, burst: int) -> tuple[str, str]:
    """A new consumer key of the app `demo`, whose app is limited to `rate` requests a second
    (`burst` at once), both served by every node: the key and its id."""
    made = cluster.nodes[0].admin("POST", "/admin/keys", json={"app": "demo"}).json()
    rule = [{"kind": "requests", "amount": rate, "period_s": 1, "burst": burst}]
    assert cluster.nodes[0].admin("PUT", "/admin/limits/app/default%2Fdemo", json=rule).status_code == 200
    served_everywhere(cluster)
    return made["key"], made["record"]["id"]


async def _admitted(url: str, key_id: str) -> list[float]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT ts FROM calls WHERE key_id = $1 AND status = 200", key_id)
    finally:
        await conn.close()
    return sorted(r["ts"] for r in rows)


def admitted_times(url: str, key_id: str, answered: int) -> list[float]:
    """When each of the `answered` requests the key got a 200 for started, from their call
    records in PostgreSQL (written in batches: waits for the last ones)."""
    return list(
        wait_until(
            lambda: (ts := asyncio.run(_admitted(url, key_id))) and len(ts) == answered and ts,
            "every admitted request has its call record",
        )
    )


def window_counts(times: list[float], start: float, end: float, window_s: float) -> list[int]:
    """How many of `times` fall in each whole window of `window_s` from `start` to `end`."""
    counts = []
    while start + window_s <= end:
        counts.append(sum(start <= t < start + window_s for t in times))
        start += window_s
    return counts
