"""SIGTERM under load: clients keep calling a two-worker gateway while it is told to stop; every
request that got a response has exactly one call record, matched by its x-request-id, and the
stop is logged as one (no error, no worker taken for dead)."""

import http.client
import signal
import sqlite3
import threading

from .conftest import Gateway

CLIENTS = 6
BEFORE_SIGTERM = 60  # responses received before the signal is sent

YAML = """
    mock: {latency_ms: 20}
model_groups:
  - name: gpt-4o-mini
    deployments: [{provider: mock}]
tenants:
  - name: default
    apps: [{name: demo}]
"""

BODY = b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "keep going"}]}'
STREAM = (
    b'{"model": "gpt-4o-mini", "stream": true, "stream_options": {"include_usage": true},'
    b' "messages": [{"role": "user", "content": "keep streaming"}]}'
)


class Load:
    """Clients calling until the gateway stops answering; every answer's request id is kept."""

    def __init__(self, gw: Gateway):
        self.gw = gw
        self.answered: list[tuple[str, int]] = []
        self.lock = threading.Lock()
        self.enough = threading.Event()

    def client(self, n: int) -> None:
        headers = {"Authorization": f"Bearer {self.gw.keys['demo']}"}
        body = STREAM if n % 2 else BODY
        while True:
            try:
                # A new connection per call, so calls reach both workers and new ones are refused
                # once the workers stop accepting.
                conn = http.client.HTTPConnection("127.0.0.1", self.gw.port, timeout=60)
                conn.request("POST", "/v1/chat/completions", body, headers)
                resp = conn.getresponse()
                resp.read()
                conn.close()
            except (OSError, http.client.HTTPException):
                return  # the gateway is gone (refused, reset or cut mid-response: not answered)
            with self.lock:
                self.answered.append((resp.getheader("x-request-id"), resp.status))
                if len(self.answered) >= BEFORE_SIGTERM:
                    self.enough.set()


def test_every_answered_request_has_exactly_one_record_after_sigterm_under_load(tmp_path):
    gw = Gateway(tmp_path, YAML, workers=2, capture_log=True)
    gw.keys["demo"] = gw.new_key()
    gw.start()
    load = Load(gw)
    threads = [threading.Thread(target=load.client, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    assert load.enough.wait(timeout=120), "the load never got going"
    assert gw.proc is not None
    gw.proc.send_signal(signal.SIGTERM)
    for t in threads:
        t.join(timeout=120)
    assert gw.stop() == 0  # drained and exited cleanly
    gw.assert_log_clean()

    assert len(load.answered) >= BEFORE_SIGTERM
    assert {status for _, status in load.answered} == {200}
    with sqlite3.connect(tmp_path / "aigw.db") as db:
        logged = [row[0] for row in db.execute("SELECT request_id FROM calls")]
    answered = [rid for rid, _ in load.answered]
    assert len(set(answered)) == len(answered)
    missing = set(answered) - set(logged)
    assert not missing, f"{len(missing)} answered request(s) without a record"
    counts: dict[str, int] = {}
    for rid in logged:
        counts[rid] = counts.get(rid, 0) + 1
    assert all(n == 1 for n in counts.values()), "a request was recorded twice"
    # Both workers answered and were drained: the ids carry the worker's pid.
    assert len({rid.split("_")[1] for rid in answered}) == 2


SLOW_STREAM_YAML = YAML.replace("mock: {latency_ms: 20}", "mock: {stream_chunks: 20, chunk_interval_ms: 100}")


def test_a_worker_that_stops_first_is_not_taken_for_dead_while_another_drains(tmp_path):
    # One worker drains a two-second stream while the other, with nothing in flight, exits at
    # once: the supervisor, checking every second, must see a worker that stopped, not one that
    # died (a worker gives its shared-memory row back as it stops).
    gw = Gateway(tmp_path, SLOW_STREAM_YAML, workers=2, capture_log=True)
    gw.keys["demo"] = gw.new_key()
    gw.start()
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=60)
    conn.request("POST", "/v1/chat/completions", STREAM, {"Authorization": f"Bearer {gw.keys['demo']}"})
    resp = conn.getresponse()
    assert resp.status == 200
    assert resp.readline().startswith(b"data: ")  # the stream is under way
    assert gw.proc is not None
    gw.proc.send_signal(signal.SIGTERM)
    rest = resp.read()
    conn.close()
    assert rest.rstrip().endswith(b"data: [DONE]")  # drained to its end
    assert gw.stop() == 0
    assert "dead worker" not in gw.log_text()
    gw.assert_log_clean()
