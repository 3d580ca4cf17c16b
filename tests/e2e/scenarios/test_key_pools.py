"""Key pools around the limiters: events, breakers, fallbacks, queue mode and configured limits,
against a mock provider that enforces per-key RPM and quota and answers with OpenAI's real
headers and error bodies. The mock's "minute" is scaled down to WINDOW_S seconds so the suite
stays fast. How the pool serves over and within capacity, with keys revoked or out of quota,
against each kind of limiter: test_limiters.py."""

import http.client
import http.server
import json
import queue
import threading

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


def key_states(gw: Gateway) -> dict[str, str]:
    return {
        k["key_id"]: k["state"]
        for k in gw.admin("GET", "/admin/upstream-keys").json()
        if k["provider"] == "upstream"
    }


def test_a_revoked_key_is_reported_to_the_operator_without_its_secret(pool, webhook):
    # How the pool routes around it: tests/e2e/scenarios/test_limiters.py.
    gw, upstream, key = pool
    httpx.post(upstream + "/_mock/keys/key-b", json={"state": "revoked"})
    statuses = [call(gw.port, key)[0] for _ in range(6)]
    assert statuses == [200] * 6
    assert key_states(gw)["key-b"] == "invalid"
    event = webhook.next_for("key-b")  # the operator hears of it
    assert (event["event"], event["provider"]) == ("invalid", "upstream")
    assert "sk-key-b" not in json.dumps(event)


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
