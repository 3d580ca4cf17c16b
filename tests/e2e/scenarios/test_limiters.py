"""Keys temporarily exhausted, against both kinds of provider limiter: a bucket that refills
continuously (OpenAI's and Anthropic's: the reset is when it is full again, long after the next
request fits) and a fixed window (all of it back at once). Each scenario runs against the mock
with one and then the other, the gateway told which (`providers[].limiter`), through a real
`aigw serve` with the openai SDK.

What the pool achieved is measured from the mock's own records (tests/e2e/scenarios/capacity.py):
what it admitted, when each key could take its next request, and what it refused. The client's
clock only bounds when an answer was given, so a loaded machine changes what is offered, never
what is measured. The mock's "minute" is scaled down to a few seconds; rates are per window.
"""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import httpx
import openai
import pytest

from tests.e2e.conftest import Gateway, pool_yaml, start_upstream_mock, stop_upstream_mock
from tests.e2e.scenarios.capacity import Run

KEYS = ("key-a", "key-b", "key-c")
LIMITERS = ("continuous", "fixed_window")
# How much later than the first moment a key could serve a precise wait (retry-after-ms) may be:
# the model is late by less than one refill (67 ms at 60 a 4 s window), a cooling key gets a
# 20 ms margin, and the answer that taught it took a moment to reach the gateway.
LATE_S = 0.25


class Answer(NamedTuple):
    sent: float  # time.monotonic() just before the request went out
    received: float  # ... and once its answer was read
    status: int
    headers: dict[str, str]
    body: bytes


def start_pool(tmp_path, limiter: str, rpm: int, window_s: float, workers: int = 2, extra: str = ""):
    """Three keys of `rpm` a window at a mock with `limiter`; a gateway told the same."""
    args = [a for k in KEYS for a in ("--key", f"{k}=sk-{k}")]
    mock, upstream = start_upstream_mock(
        *args, "--rpm", str(rpm), "--window-s", str(window_s), "--limiter", limiter
    )
    config = pool_yaml(upstream, *KEYS).replace(
        "    keys:\n", f"    limiter: {limiter}\n{extra}    keys:\n", 1
    )
    gw = Gateway(tmp_path, config, workers=workers)
    key = gw.new_key()
    gw.start()
    return gw, mock, upstream, key


def ask(client: openai.OpenAI, stream: bool) -> Answer:
    """One chat completion through the openai SDK, never retried: its status, headers and body."""
    sent = time.monotonic()
    messages = [{"role": "user", "content": "hello pool"}]
    try:
        if stream:
            with client.chat.completions.with_streaming_response.create(
                model="chat", messages=messages, stream=True
            ) as resp:
                text = "".join(c.choices[0].delta.content or "" for c in resp.parse() if c.choices)
                assert text == "Mock reply: hello pool", text  # every stream that starts completes
                return Answer(sent, time.monotonic(), resp.status_code, dict(resp.headers), b"")
        raw = client.chat.completions.with_raw_response.create(model="chat", messages=messages)
        assert raw.parse().choices[0].message.content == "Mock reply: hello pool"
        return Answer(sent, time.monotonic(), raw.status_code, dict(raw.headers), b"")
    except openai.RateLimitError as exc:
        return Answer(sent, time.monotonic(), 429, dict(exc.response.headers), exc.response.content)


def steady_load(gw: Gateway, key: str, per_window: int, windows: float, window_s: float, stream=False):
    """`per_window` requests per window, evenly spaced (open loop: a slow answer does not slow
    the load), for `windows` windows."""
    client = openai.OpenAI(base_url=gw.base_url + "/v1", api_key=key, max_retries=0, timeout=30)
    interval = window_s / per_window
    start = time.monotonic()
    futures = []
    with client, ThreadPoolExecutor(max_workers=48) as pool:
        for i in range(int(per_window * windows)):
            # Pacing the load generator (not synchronising with the system under test).
            delay = start + i * interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(ask, client, stream))
        return [f.result() for f in futures]


def lateness(run: Run, refused: list[Answer], header: str, scale: float) -> list[float]:
    """For each 429 whose round trip took under 50 ms (so the moment the gateway answered is known
    to within 25 ms): how much later than the first moment a key could serve the caller was told
    to come back, taking the middle of the round trip as that moment. For the report only: the
    assertions bound every answer, however slow."""
    out = []
    for a in refused:
        if a.received - a.sent < 0.05:
            at = (a.sent + a.received) / 2
            out.append(at + float(a.headers[header]) * scale - run.first_free(at))
    return out or [float("nan")]


# --------------------------------------------------------------------------- over capacity

RPM = 60
WINDOW_S = 4.0  # 3 keys x 60 a window of 4 s: 45 requests a second
OVERLOAD = int(1.7 * len(KEYS) * RPM)  # per window


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streams"])
@pytest.mark.parametrize("limiter", LIMITERS)
def test_over_capacity_the_pool_serves_what_its_keys_offer_and_each_429_says_truly_when(
    tmp_path, limiter, stream
):
    gw, mock, upstream, key = start_pool(tmp_path, limiter, RPM, WINDOW_S)
    try:
        answers = steady_load(gw, key, OVERLOAD, 4, WINDOW_S, stream)
        run = Run.of(httpx.get(upstream + "/_mock/stats").json(), RPM)
    finally:
        assert gw.stop() == 0
        stop_upstream_mock(mock)
    assert run.limiter == limiter and run.keys == sorted(KEYS) and run.windows >= 3

    # Every answer the mock admitted reached the caller; together they are the keys' capacity.
    ok = [a for a in answers if a.status == 200]
    assert len(ok) == sum(len(admitted) for admitted in run.admitted.values())
    share = run.served_share()
    assert share >= 0.95, (run.served(), run.capacity())

    # The gateway sends a key no request its limiter has no room for: at most one 429 a window.
    assert all(n <= run.windows for n in run.refusals_per_key().values()), run.refusals_per_key()

    # Everything else is the pool's honest 429: Retry-After (whole seconds) never before the first
    # moment a key could serve and at most 1 s after it; retry-after-ms as precise as the model.
    refused = [a for a in answers if a.status != 200]
    assert refused and {a.status for a in refused} == {429}
    for a in refused:
        assert b"upstream_capacity_exhausted" in a.body, a.body
        earliest, latest = run.first_free(a.sent), run.first_free(a.received)
        after_s, after_ms = int(a.headers["retry-after"]), int(a.headers["retry-after-ms"]) / 1000
        assert a.received + after_s >= earliest and a.sent + after_s <= latest + 1 + LATE_S, (a, earliest)
        assert a.received + after_ms >= earliest and a.sent + after_ms <= latest + LATE_S, (a, earliest)
    late_s, late_ms = lateness(run, refused, "retry-after", 1), lateness(run, refused, "retry-after-ms", 1e-3)
    print(
        f"\n{limiter} {'streams' if stream else 'plain'}: served {share:.1%} of capacity "
        f"({run.served()}/{run.capacity()}), {len(refused)} client 429s, upstream 429s "
        f"{run.refusals_per_key()} in {run.windows} windows; Retry-After late by "
        f"median {statistics.median(late_s):.3f} s, max {max(late_s):.3f} s; retry-after-ms late by "
        f"median {statistics.median(late_ms) * 1000:.0f} ms, max {max(late_ms) * 1000:.0f} ms"
    )


# --------------------------------------------------------------------------- within capacity


@pytest.mark.parametrize("limiter", LIMITERS)
def test_within_capacity_the_caller_sees_no_error_and_the_load_is_spread(tmp_path, limiter):
    # 3 keys x 60 a window of 2 s; a steady 150 a window.
    gw, mock, upstream, key = start_pool(tmp_path, limiter, 60, 2.0)
    try:
        statuses = [a.status for a in steady_load(gw, key, 150, 3, 2.0)]
        run = Run.of(httpx.get(upstream + "/_mock/stats").json(), 60)
    finally:
        assert gw.stop() == 0
        stop_upstream_mock(mock)
    assert statuses.count(200) == len(statuses), {s: statuses.count(s) for s in set(statuses)}
    assert all(len(run.admitted[k]) > 0 for k in KEYS)  # spread over the pool
    assert sum(run.refusals_per_key().values()) == 0  # and no key was sent more than it could take


# --------------------------------------------------------------------------- keys going bad


@pytest.fixture(params=LIMITERS)
def pool(tmp_path, request):
    # Exhausted keys are probed often; a revoked key's probes (which the mock counts as requests on
    # that key) wait longer than any test here runs.
    probes = "    probe_interval_s: 0.5\n    invalid_probe_interval_s: 600\n"
    gw, mock, upstream, key = start_pool(tmp_path, request.param, 60, 2.0, extra=probes)
    client = openai.OpenAI(base_url=gw.base_url + "/v1", api_key=key, max_retries=0, timeout=30)
    yield gw, upstream, client
    client.close()
    assert gw.stop() == 0
    stop_upstream_mock(mock)


def served_by(upstream: str, key: str) -> int:
    return httpx.get(upstream + "/_mock/stats").json()["requests_by_key"][key]


def key_states(gw: Gateway) -> dict[str, str]:
    return {
        k["key_id"]: k["state"]
        for k in gw.admin("GET", "/admin/upstream-keys").json()
        if k["provider"] == "upstream"
    }


def test_a_key_revoked_mid_run_is_never_used_again_after_its_first_401(pool):
    gw, upstream, client = pool
    for _ in range(6):
        assert ask(client, stream=False).status == 200
    httpx.post(upstream + "/_mock/keys/key-b", json={"state": "revoked"})
    before = served_by(upstream, "key-b")
    statuses = [ask(client, stream=i % 2 == 1).status for i in range(30)]
    assert statuses == [200] * 30  # the caller never sees the 401, streams included
    assert served_by(upstream, "key-b") - before == 1  # one request found out; no worker sent another
    assert key_states(gw)["key-b"] == "invalid"


def test_a_quota_exhausted_key_is_probed_back_into_service_once_restored(pool):
    gw, upstream, client = pool
    httpx.post(upstream + "/_mock/keys/key-a", json={"state": "quota"})
    statuses = [ask(client, stream=i % 2 == 1).status for i in range(12)]
    assert statuses == [200] * 12
    assert key_states(gw)["key-a"] == "exhausted"
    httpx.post(upstream + "/_mock/keys/key-a", json={"state": "ok"})
    restored = time.monotonic()
    while key_states(gw)["key-a"] != "healthy":
        # Probe interval 0.5 s, prober tick 0.25 s; the bound only stops a wedged prober, it is
        # far past one interval so a loaded machine does not fail it.
        assert time.monotonic() - restored < 30, "the key was not probed back into service"
    before = served_by(upstream, "key-a")
    for _ in range(9):
        assert ask(client, stream=False).status == 200
    assert served_by(upstream, "key-a") > before
