"""Limits are exact for the node, not per worker: four workers over HTTP share one GCRA bucket."""

import http.client
import multiprocessing
import time

import pytest

from .conftest import Gateway

WORKERS = 4
RATE = 40  # requests per second for the whole node
BURST = 4
EMISSION_S = 1 / RATE
RUN_S = 2.5
CLIENTS = 4

LIMITED_YAML = f"""
model_groups:
  - name: gpt-4o-mini
    deployments: [{{provider: mock}}]
tenants:
  - name: default
    apps:
      - name: demo
        limits: [{{requests: {RATE}, per: second, burst: {BURST}}}]
"""

BODY = b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}'


def hammer(port: int, key: str, start: float, queue) -> None:
    # A fresh connection per request, so the kernel spreads them over every worker.
    results = []
    while (sent := time.monotonic()) < start + RUN_S:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/v1/chat/completions", BODY, {"Authorization": f"Bearer {key}"})
        resp = conn.getresponse()
        resp.read()
        worker = resp.getheader("x-request-id").split("_")[1]
        results.append((sent, time.monotonic(), resp.status, worker))
        conn.close()
    queue.put(results)


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    gw = Gateway(tmp_path_factory.mktemp("limits"), LIMITED_YAML, workers=WORKERS)
    gw.keys["demo"] = gw.new_key()
    gw.start()
    yield gw
    assert gw.stop() == 0


def test_four_workers_never_exceed_the_bound_and_admit_nearly_all_it_allows(gw):
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    start = time.monotonic() + 0.2
    procs = [
        ctx.Process(target=hammer, args=(gw.port, gw.keys["demo"], start, queue)) for _ in range(CLIENTS)
    ]
    for p in procs:
        p.start()
    results = [r for _ in procs for r in queue.get(timeout=60)]
    for p in procs:
        p.join(timeout=30)
    assert {status for *_, status, _ in results} <= {200, 429}
    admitted = sorted((sent, done) for sent, done, status, _ in results if status == 200)
    assert len({w for *_, w in results}) == WORKERS, "the load did not reach every worker"
    assert len({w for *_, status, w in results if status == 200}) >= 2

    # Each admission happened inside its request's [sent, done]. So for any t1 <= t2, the requests
    # sent at or after t1 and done by t2 were admitted within [t1, t2]: at most BURST + (t2-t1)/T.
    for t1, _ in admitted:
        for t2 in sorted(done for sent, done in admitted if sent >= t1):
            inside = sum(1 for sent, done in admitted if sent >= t1 and done <= t2)
            assert inside <= BURST + (t2 - t1) / EMISSION_S + 1

    # Demand never let up, so GCRA admits nearly all the bound allows between the first arrival
    # (at or before the first answer) and the last arrival (at or after the last send). Over HTTP
    # on a busy 2-core machine the gateway itself can be descheduled for a moment, and capacity
    # accrued beyond the burst then is lost to the clock, not to the limiter — hence 95% here; the
    # limiter's own precision (99% of an ideal replay of the same attempts) is shown in
    # tests/native/test_exactness.py.
    first_answer = min(done for _, done, _, _ in results)
    last_send = max(sent for sent, _, _, _ in results)
    allowed = BURST + (last_send - first_answer) / EMISSION_S
    assert len(admitted) >= 0.95 * allowed - 1, (len(admitted), allowed)


def test_responses_carry_the_limit_state_and_429s_a_retry_after(gw):
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=30)
    headers = {"Authorization": f"Bearer {gw.keys['demo']}"}
    statuses = []
    for _ in range(BURST + 20):
        conn.request("POST", "/v1/chat/completions", BODY, headers)
        resp = conn.getresponse()
        body = resp.read()
        statuses.append(resp.status)
        if resp.status == 200:
            assert resp.getheader("x-ratelimit-limit-requests") == str(RATE)
            assert 0 <= int(resp.getheader("x-ratelimit-remaining-requests")) < BURST
            assert resp.getheader("x-ratelimit-reset-requests").endswith("s")
        else:
            assert resp.status == 429
            assert int(resp.getheader("retry-after")) >= 1
            assert b"Rate limit reached for app 'default/demo'" in body
            break
    assert statuses[-1] == 429


def test_a_limit_changed_through_the_admin_api_applies_without_restart(gw):
    r = gw.admin(
        "PUT", "/admin/limits/app/default%2Fdemo", json=[{"kind": "requests", "amount": 7, "period_s": 60}]
    )
    assert r.status_code == 200 and r.json()[0]["amount"] == 7
    # Answered once every worker serves it: the next request, on either worker, is charged to it.
    headers = {"Authorization": f"Bearer {gw.keys['demo']}", "Connection": "close"}
    for _ in range(4):
        conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=30)
        conn.request("POST", "/v1/chat/completions", BODY, headers)
        resp = conn.getresponse()
        resp.read()
        assert resp.getheader("x-ratelimit-limit-requests") == "7"
    listed = gw.admin("GET", "/admin/limits", params={"scope": "app"}).json()
    assert [(x["subject"], x["amount"]) for x in listed] == [("default/demo", 7)]
