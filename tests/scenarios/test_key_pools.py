"""Keys temporarily exhausted, against a mock provider that enforces per-key RPM and quota and
answers with OpenAI's real headers and error bodies. The mock's "minute" is scaled down to
WINDOW_S seconds so the suite stays fast; rates below are per scaled minute."""

import http.client
import http.server
import itertools
import json
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import httpx
import openai
import pytest

from tests.e2e.conftest import Gateway, pool_yaml, start_upstream_mock, stop_upstream_mock

WINDOW_S = 2.0
RPM = 60
KEYS = ("key-a", "key-b", "key-c")
BODY = b'{"model": "chat", "messages": [{"role": "user", "content": "hello pool"}]}'


class Webhook:
    """A receiver for key-health events (what an operator's alerting endpoint would be)."""

    def __init__(self) -> None:
        self.events: queue.Queue[dict] = queue.Queue()
        events = self.events

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                events.put(json.loads(self.rfile.read(int(self.headers["content-length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next_for(self, key: str) -> dict:
        return self.next_where(lambda event: event.get("key_id") == key)

    def next_where(self, wanted) -> dict:
        while True:
            event = self.events.get(timeout=10)
            if wanted(event):
                return event


@pytest.fixture
def webhook():
    hook = Webhook()
    yield hook
    hook.server.shutdown()
    hook.server.server_close()


@pytest.fixture
def pool(tmp_path, webhook):
    args = [a for k in KEYS for a in ("--key", f"{k}=sk-{k}")]
    mock, upstream = start_upstream_mock(*args, "--rpm", str(RPM), "--window-s", str(WINDOW_S))
    config = pool_yaml(upstream, *KEYS).replace(
        "    keys:\n", "    probe_interval_s: 0.5\n    invalid_probe_interval_s: 0.5\n    keys:\n", 1
    )
    gw = Gateway(tmp_path, config + f"events: {{webhooks: [{webhook.url}]}}\n", workers=2)
    key = gw.new_key()
    gw.start()
    yield gw, upstream, key
    assert gw.stop() == 0
    stop_upstream_mock(mock)


def call(port: int, key: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/v1/chat/completions", BODY, {"Authorization": f"Bearer {key}"})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data


class Answer(NamedTuple):
    sent: float  # time.monotonic() just before the request went out
    received: float  # ... and once its answer was read
    status: int
    headers: dict[str, str]
    body: bytes


def timed_call(port: int, key: str) -> Answer:
    sent = time.monotonic()
    status, headers, body = call(port, key)
    return Answer(sent, time.monotonic(), status, headers, body)


def steady_load(
    port: int, key: str, per_window: int, windows: float, window_s: float = WINDOW_S
) -> list[Answer]:
    """`per_window` requests per scaled minute, evenly spaced, for `windows` minutes."""
    interval = window_s / per_window
    start = time.monotonic()
    futures = []
    with ThreadPoolExecutor(max_workers=32) as pool:
        for i in range(int(per_window * windows)):
            # Pacing the load generator (not synchronising with the system under test).
            delay = start + i * interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(timed_call, port, key))
        return [f.result() for f in futures]


def key_states(gw: Gateway) -> dict[str, str]:
    return {
        k["key_id"]: k["state"]
        for k in gw.admin("GET", "/admin/upstream-keys").json()
        if k["provider"] == "upstream"
    }


def test_three_keys_at_60_rpm_under_a_steady_150_rpm_give_the_caller_no_error(pool):
    gw, upstream, key = pool
    statuses = [a.status for a in steady_load(gw.port, key, per_window=150, windows=3)]
    assert statuses.count(200) == len(statuses), {s: statuses.count(s) for s in set(statuses)}
    served = httpx.get(upstream + "/_mock/stats").json()["requests_by_key"]
    # The load was spread over the pool, not piled on one key.
    assert all(served[k] > 0 for k in KEYS)


def test_a_key_revoked_mid_run_is_never_used_again_after_its_first_401(pool, webhook):
    gw, upstream, key = pool
    for _ in range(6):
        assert call(gw.port, key)[0] == 200
    httpx.post(upstream + "/_mock/keys/key-b", json={"state": "revoked"})
    before = httpx.get(upstream + "/_mock/stats").json()["requests_by_key"]["key-b"]
    statuses = [call(gw.port, key)[0] for _ in range(30)]
    after = httpx.get(upstream + "/_mock/stats").json()["requests_by_key"]["key-b"]
    assert statuses == [200] * 30  # the caller never sees the 401
    assert after - before == 1  # one request found out; no worker sent another
    assert key_states(gw)["key-b"] == "invalid"
    event = webhook.next_for("key-b")  # the operator hears of it
    assert (event["event"], event["provider"]) == ("invalid", "upstream")
    assert "sk-key-b" not in json.dumps(event)


def test_a_quota_exhausted_key_is_back_within_one_probe_interval_of_being_restored(pool):
    gw, upstream, key = pool
    httpx.post(upstream + "/_mock/keys/key-a", json={"state": "quota"})
    statuses = [call(gw.port, key)[0] for _ in range(12)]
    assert statuses == [200] * 12
    assert key_states(gw)["key-a"] == "exhausted"
    httpx.post(upstream + "/_mock/keys/key-a", json={"state": "ok"})
    restored = time.monotonic()
    while key_states(gw)["key-a"] != "healthy":
        # Probe interval 0.5 s, prober tick 0.25 s: one interval, with room for a loaded machine.
        assert time.monotonic() - restored < 0.5 + 0.25 + 1.0, "the key was not probed back into service"
    before = httpx.get(upstream + "/_mock/stats").json()["requests_by_key"]["key-a"]
    for _ in range(9):
        assert call(gw.port, key)[0] == 200
    assert httpx.get(upstream + "/_mock/stats").json()["requests_by_key"]["key-a"] > before


def test_when_every_key_is_out_of_quota_the_caller_is_told_so_without_a_guessed_time(pool):
    gw, upstream, key = pool
    for k in KEYS:
        httpx.post(upstream + "/_mock/keys/" + k, json={"state": "quota"})
    status, headers, body = call(gw.port, key)
    assert status == 429
    error = json.loads(body)["error"]
    assert (error["type"], error["code"]) == ("insufficient_quota", "upstream_quota_exhausted")
    assert "'chat'" in error["message"] and error["message"].endswith("Its 3 key(s): 3 out of quota.")
    # When a provider's quota comes back is not known (aigw's probes are not a promise).
    assert "retry-after" not in headers


def test_a_pool_running_low_and_recovering_is_reported(pool, webhook):
    gw, upstream, key = pool
    for k in KEYS:
        httpx.post(upstream + "/_mock/keys/" + k, json={"state": "quota"})
    assert call(gw.port, key)[0] == 429  # the request found every key out of quota
    event = webhook.next_where(lambda e: e["event"].startswith("pool_"))
    assert (event["event"], event["model_group"], event["headroom"]) == ("pool_low", "chat", 0.0)
    metrics = gw.admin("GET", "/metrics").text
    assert 'aigw_pool_headroom_ratio{model_group="chat"} 0.0' in metrics
    for k in KEYS:
        httpx.post(upstream + "/_mock/keys/" + k, json={"state": "ok"})
    # The prober brings the keys back; the pool's headroom with them.
    event = webhook.next_where(lambda e: e["event"].startswith("pool_"))
    assert (event["event"], event["model_group"]) == ("pool_recovered", "chat")
    assert event["headroom"] >= event["threshold"] == 0.1


def test_queue_mode_with_max_wait_above_the_recovery_time_serves_every_request(tmp_path):
    mock, upstream = start_upstream_mock("--key", "solo=sk-solo", "--rpm", "3", "--window-s", "1")
    config = pool_yaml(upstream, "solo").replace(
        "    deployments: [{provider: upstream, model: gpt-4o-mini}]",
        "    deployments: [{provider: upstream, model: gpt-4o-mini}]\n    max_wait_s: 5\n    max_attempts: 5",
    )
    gw = Gateway(tmp_path, config, workers=2)
    key = gw.new_key()
    gw.start()
    try:
        answers = [call(gw.port, key) for _ in range(8)]
        refused = [body for status, _, body in answers if status != 200]
        assert not refused, refused
        # The one key served all eight: the excess waited for its window instead of failing.
        assert httpx.get(upstream + "/_mock/stats").json()["requests_by_key"]["solo"] >= 8
    finally:
        assert gw.stop() == 0
        stop_upstream_mock(mock)


def test_an_exhausted_openai_pool_falls_back_to_an_anthropic_deployment(tmp_path):
    mock, upstream = start_upstream_mock("--key", "only=sk-only")
    claude, claude_url = start_upstream_mock(module="tests.mocks.anthropic_server")
    config = pool_yaml(upstream, "only").replace(
        "model_groups:\n  - name: chat\n    deployments: [{provider: upstream, model: gpt-4o-mini}]",
        "  - name: claude\n    type: anthropic\n    base_url: " + claude_url + "\n"
        "    keys: [{id: claude-key, value: sk-ant-x}]\n"
        "model_groups:\n  - name: chat\n    deployments: [{provider: upstream, model: gpt-4o-mini}]\n"
        "    fallbacks: [claude]\n"
        "  - name: claude\n    deployments: [{provider: claude, model: claude-haiku-4-5}]",
    )
    gw = Gateway(tmp_path, config, workers=2)
    key = gw.new_key()
    gw.start()
    try:
        httpx.post(upstream + "/_mock/keys/only", json={"state": "quota"})
        client = openai.OpenAI(base_url=gw.base_url + "/v1", api_key=key, max_retries=0)
        done = client.chat.completions.create(
            model="chat", messages=[{"role": "user", "content": "fall back please"}]
        )
        assert done.object == "chat.completion" and "fall back please" in done.choices[0].message.content
        assert done.model == "chat"  # answered under the name the caller asked for
        streamed = client.chat.completions.create(
            model="chat", messages=[{"role": "user", "content": "stream the fallback"}], stream=True
        )
        assert "stream the fallback" in "".join(
            c.choices[0].delta.content or "" for c in streamed if c.choices
        )
    finally:
        assert gw.stop() == 0
        stop_upstream_mock(mock)
        stop_upstream_mock(claude)


def test_a_key_answering_5xx_is_rested_after_three_failures_and_callers_see_none(pool):
    gw, upstream, key = pool
    httpx.post(upstream + "/_mock/keys/key-a", json={"state": "error"})
    before = httpx.get(upstream + "/_mock/stats").json()["requests_by_key"]["key-a"]
    statuses = [call(gw.port, key)[0] for _ in range(12)]
    after = httpx.get(upstream + "/_mock/stats").json()["requests_by_key"]["key-a"]
    assert statuses == [200] * 12  # each failure moved on to another key
    # The breaker opened after three failures in a row and rests the key 1 s: the rest of the run
    # left it alone, but for one half-open probe if a slow machine took longer than the rest.
    assert 3 <= after - before <= 4
    assert key_states(gw)["key-a"] == "cooling"


# The 300-RPM run uses a longer scaled minute than the rest, so the load generator's 75 requests a
# second stay well within what a small shared machine sustains.
OVERLOAD_WINDOW_S = 4.0
# How much later than the true recovery a precise wait (retry-after-ms) may be: the gateway cools a
# key 20 ms past the provider's reset, and the provider's answer takes a moment to reach it.
LATE_S = 0.25


def true_recovery(windows: dict[str, list[list]], window_s: float, at: float) -> float:
    """When the mock next admits a request on some key, as of `at`: a key whose window's RPM is used
    up admits again when that window ends; any other key admits at once."""
    return min(
        (
            next(
                (
                    start + window_s
                    for start, _, full in wins
                    if full is not None and full <= at < start + window_s
                ),
                at,
            )
            for wins in windows.values()
        ),
        default=at,
    )


def test_at_300_rpm_the_pool_serves_its_capacity_and_each_429_says_truly_when_to_retry(tmp_path):
    args = [a for k in KEYS for a in ("--key", f"{k}=sk-{k}")]
    mock, upstream = start_upstream_mock(*args, "--rpm", str(RPM), "--window-s", str(OVERLOAD_WINDOW_S))
    gw = Gateway(tmp_path, pool_yaml(upstream, *KEYS), workers=2)
    key = gw.new_key()
    gw.start()
    try:
        answers = steady_load(gw.port, key, per_window=300, windows=3, window_s=OVERLOAD_WINDOW_S)
        stats = httpx.get(upstream + "/_mock/stats").json()
    finally:
        assert gw.stop() == 0
        stop_upstream_mock(mock)
    windows = stats["windows"]
    assert sorted(windows) == sorted(KEYS)  # every key served

    # The served rate is the pool's capacity: every answer the mock admitted reached the caller,
    # each key served at least the run's three windows, every window but its last used up, and
    # the gateway came back to a key as soon as its window ended (within a quarter window on a
    # slow machine; ~20 ms when idle).
    ok = [a for a in answers if a.status == 200]
    assert len(ok) == sum(n for wins in windows.values() for _, n, _ in wins)
    for label, wins in windows.items():
        assert all(n == RPM for _, n, _ in wins[:-1]), (label, wins)
        gaps = [b[0] - (a[0] + OVERLOAD_WINDOW_S) for a, b in itertools.pairwise(wins)]
        assert len(wins) >= 3 and max(gaps) < OVERLOAD_WINDOW_S / 4, (label, gaps)

    # Everything else is the pool's honest 429: Retry-After (whole seconds) no earlier than the
    # true recovery and at most 1 s later; retry-after-ms as precise as the provider's reset.
    refused = [a for a in answers if a.status != 200]
    assert refused and {a.status for a in refused} == {429}
    for a in refused:
        assert b"upstream_capacity_exhausted" in a.body, a.body
        earliest = true_recovery(windows, OVERLOAD_WINDOW_S, a.sent)
        latest = true_recovery(windows, OVERLOAD_WINDOW_S, a.received)
        after_s, after_ms = int(a.headers["retry-after"]), int(a.headers["retry-after-ms"]) / 1000
        assert a.received + after_s >= earliest and a.sent + after_s <= latest + 1 + LATE_S, (a, earliest)
        assert a.received + after_ms >= earliest and a.sent + after_ms <= latest + LATE_S, (a, earliest)


def test_configured_key_limits_hold_for_a_provider_that_sends_no_rate_limit_headers(tmp_path):
    # No --rpm: this mock says nothing about limits, like many OpenAI-compatible servers.
    mock, upstream = start_upstream_mock("--key", "key-a=sk-key-a", "--key", "key-b=sk-key-b")
    config = pool_yaml(upstream, "key-a", "key-b").replace(
        "    keys:\n      - {id: key-a, value: sk-key-a}\n      - {id: key-b, value: sk-key-b}\n",
        "    key_limits: [{requests: 3, per: minute}]\n    keys:\n      - {id: key-a, value: sk-key-a}\n"
        "      - {id: key-b, value: sk-key-b, limits: [{requests: 2, per: minute}]}\n",
    )
    gw = Gateway(tmp_path, config, workers=2)
    key = gw.new_key()
    gw.start()
    try:
        answers = [call(gw.port, key) for _ in range(7)]
        served_by = httpx.get(upstream + "/_mock/stats").json()["requests_by_key"]
    finally:
        assert gw.stop() == 0
        stop_upstream_mock(mock)
    assert [status for status, _, _ in answers] == [200] * 5 + [429] * 2
    # Each key took exactly its own limit; nothing over it was sent.
    assert served_by == {"key-a": 3, "key-b": 2}
    for _, headers, body in answers[5:]:
        assert b"upstream_capacity_exhausted" in body
        # key-a has room again 60 s / 3 after its first request (key-b only after 30 s).
        assert 15 <= int(headers["retry-after"]) <= 20


def test_a_provider_failing_on_every_key_is_rested_whole_and_its_fallback_serves(tmp_path):
    dead_keys = ("d1", "d2", "d3", "d4")
    mock, upstream = start_upstream_mock(*[a for k in dead_keys for a in ("--key", f"{k}=sk-{k}")])
    spare, spare_url = start_upstream_mock("--key", "spare=sk-spare")
    config = pool_yaml(upstream, *dead_keys).replace(
        "model_groups:\n  - name: chat\n    deployments: [{provider: upstream, model: gpt-4o-mini}]",
        "  - name: spare\n    type: openai\n    base_url: " + spare_url + "/v1\n"
        "    keys: [{id: spare, value: sk-spare}]\n"
        "model_groups:\n  - name: chat\n    deployments: [{provider: upstream, model: gpt-4o-mini}]\n"
        "    fallbacks: [backup]\n    max_attempts: 6\n"
        "  - name: backup\n    deployments: [{provider: spare, model: gpt-4o-mini}]",
    )
    gw = Gateway(tmp_path, config, workers=2)
    key = gw.new_key()
    gw.start()
    try:
        for k in dead_keys:
            httpx.post(upstream + "/_mock/keys/" + k, json={"state": "error"})
        statuses = [call(gw.port, key)[0] for _ in range(12)]
        failed = sum(httpx.get(upstream + "/_mock/stats").json()["requests_by_key"].values())
    finally:
        assert gw.stop() == 0
        stop_upstream_mock(mock)
        stop_upstream_mock(spare)
    assert statuses == [200] * 12  # every request reached the fallback
    # Five failures in a row across the provider's keys rested all four at once: resting them one
    # by one (three failures each) would have cost twelve. A slow machine may let the 1 s rest,
    # then the 2 s one, run out: one half-open probe each.
    assert 5 <= failed <= 7, failed
