"""Key health is node-wide: a key one worker finds rate-limited is skipped by every worker, and a
worker killed mid-request leaves nothing stuck."""

import http.client
import os
import signal

import httpx
import pytest

from .conftest import Gateway, pool_yaml, start_upstream_mock, stop_upstream_mock

WORKERS = 4
RPM = 3


def post(
    port: int, key: str, body: bytes = b'{"model": "chat", "messages": [{"role": "user", "content": "x"}]}'
):
    # A fresh connection each time: successive requests land on different workers.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/v1/chat/completions", body, {"Authorization": f"Bearer {key}"})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp, data


def test_a_key_cooled_by_one_worker_is_never_picked_by_another(tmp_path):
    # No x-ratelimit-* headers: only a 429 tells aigw a key is used up, as with many servers.
    mock, upstream = start_upstream_mock(
        "--key", "key-a=sk-key-a", "--key", "key-b=sk-key-b", "--rpm", str(RPM), "--no-limit-headers"
    )
    gw = Gateway(tmp_path, pool_yaml(upstream, "key-a", "key-b"), workers=WORKERS)
    key = gw.new_key()
    gw.start()
    try:
        workers, statuses = set(), []
        # Until the pool is exhausted and at least three workers have answered: the kernel decides
        # which worker takes a connection, so keep going until several demonstrably took part.
        for _ in range(3000):
            resp, body = post(gw.port, key)
            workers.add(resp.getheader("x-request-id").split("_")[1])
            statuses.append(resp.status)
            if len(statuses) >= 10 and len(workers) >= 3:
                break
        stats = httpx.get(upstream + "/_mock/stats").json()["requests_by_key"]
        # Each key served its RPM, then answered one 429 — after which no worker sent to it again.
        assert stats == {"key-a": RPM + 1, "key-b": RPM + 1}
        assert len(workers) >= 3
        assert statuses.count(200) == 2 * RPM
        # With the whole pool cooling, aigw answers for the provider, with the time until recovery.
        assert resp.status == 429
        assert b"upstream_capacity_exhausted" in body
        # The mock's retry-after is its next refill, 20 s away (3 a minute); aigw adds a 20 ms
        # margin and rounds up.
        assert 19 <= int(resp.getheader("retry-after")) <= 21
        states = [k for k in gw.admin("GET", "/admin/upstream-keys").json() if k["provider"] == "upstream"]
        assert [(k["key_id"], k["state"]) for k in states] == [("key-a", "cooling"), ("key-b", "cooling")]
        assert all(0 < k["cooling_for_s"] <= 21 for k in states)
        table = gw.cli("upstream-keys", "list")
        assert [line.split()[:2] for line in table.splitlines() if line.startswith("upstream/")] == [
            ["upstream/key-a", "cooling"],
            ["upstream/key-b", "cooling"],
        ]
    finally:
        assert gw.stop() == 0
        stop_upstream_mock(mock)


@pytest.fixture
def slow_gateway(tmp_path):
    mock, upstream = start_upstream_mock(
        "--key",
        "key-a=sk-key-a",
        "--key",
        "key-b=sk-key-b",
        "--stream-chunks",
        "400",
        "--chunk-interval-ms",
        "25",
    )
    limit = "\n".join(
        ["  - name: other", "    apps: [{name: other, limits: [{requests: 100000, per: minute}]}]"]
    )
    gw = Gateway(tmp_path, pool_yaml(upstream, "key-a", "key-b", extra=limit), workers=2)
    gw.keys["demo"] = gw.new_key()
    gw.keys["other"] = gw.new_key("other")
    gw.start()
    yield gw
    assert gw.stop() == 0
    stop_upstream_mock(mock)


def test_a_worker_killed_mid_request_leaves_no_stuck_state(slow_gateway):
    gw = slow_gateway
    body = b'{"model": "chat", "stream": true, "messages": [{"role": "user", "content": "x"}]}'
    streams = []
    for _ in range(8):  # long streams in flight on both workers
        conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=60)
        conn.request("POST", "/v1/chat/completions", body, {"Authorization": f"Bearer {gw.keys['other']}"})
        resp = conn.getresponse()
        assert resp.status == 200
        resp.readline()
        streams.append((conn, resp, int(resp.getheader("x-request-id").split("_")[1], 16)))
    assert sum(k["in_flight"] for k in gw.admin("GET", "/admin/upstream-keys").json()) == 8
    victim = streams[0][2]
    os.kill(victim, signal.SIGKILL)
    for conn, resp, pid in streams:
        if pid != victim:
            resp.read()  # the survivors' streams run to completion
        conn.close()

    # The supervisor frees the dead worker's in-flight row; granian starts a replacement.
    deadline = 200
    while sum(k["in_flight"] for k in gw.admin("GET", "/admin/upstream-keys").json()) != 0:
        deadline -= 1
        assert deadline > 0, "in-flight counts stayed up after the worker died"
        httpx.get(gw.base_url + "/health")  # each poll is a round trip, no sleeping
    # Limits are not wedged and every worker (the replacement included) serves.
    served_by = set()
    refused = 0
    for _ in range(5000):  # until the replacement has booted and taken a connection
        try:
            resp, _ = post(gw.port, gw.keys["other"])
        except ConnectionRefusedError:
            # granian gives each worker its own SO_REUSEPORT socket: around a worker's replacement
            # the kernel can refuse a connection (granian warns so where net.ipv4.tcp_migrate_req
            # is off, as here). Seen once in ~15 runs of the suite on the project VM.
            refused += 1
            assert refused <= 3, "connections kept being refused after the worker was replaced"
            continue
        assert resp.status == 200
        served_by.add(int(resp.getheader("x-request-id").split("_")[1], 16))
        if len(served_by - {victim}) == 2:
            break
    assert victim not in served_by and len(served_by) == 2
