"""Reloading the config of a running node under load (`aigw reload`, SIGHUP, the admin API): every
worker serves the new config from its next request, streams in flight finish on the config they
started with, no request fails, and a config with mistakes is refused with every one named while
the node keeps serving."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .conftest import ADMIN_TOKEN, Gateway, fresh_get, until, worker_of

# After the Gateway helper's own `mock` provider: chat's provider streams slowly (1.2 s a stream);
# `long`'s streams last 20 s, far longer than a reload takes even on a loaded machine.
LONG = """
  - name: long
    type: mock
    keys: [{id: long-1, value: sk-long-secret-1}]
    mock: {stream_chunks: 400, chunk_interval_ms: 50}
"""
LONG_GROUP = """
  - name: long
    deployments: [{provider: long, model: gpt-4o-mini}]
"""
BASE = f"""
  - name: primary
    type: mock
    keys:
      - {{id: primary-1, value: sk-primary-secret-1}}
      - {{id: primary-2, value: sk-primary-secret-2}}
    mock: {{stream_chunks: 30, chunk_interval_ms: 40}}
{LONG.strip(chr(10))}
model_groups:
  - name: chat
    deployments: [{{provider: primary, model: gpt-4o-mini}}]
{LONG_GROUP.strip(chr(10))}
tenants:
  - name: default
    apps: [{{name: demo}}]
"""

# Adds a provider (its own mock) and a model group on it, and makes that group chat's fallback.
RELOADED = f"""
  - name: primary
    type: mock
    keys:
      - {{id: primary-1, value: sk-primary-secret-1}}
      - {{id: primary-2, value: sk-primary-secret-2}}
    mock: {{stream_chunks: 30, chunk_interval_ms: 40}}
{LONG.strip(chr(10))}
  - name: second
    type: mock
    keys: [{{id: second-key, value: sk-second-secret}}]
model_groups:
  - name: chat
    deployments: [{{provider: primary, model: gpt-4o-mini}}]
    fallbacks: [chat-2]
  - name: chat-2
    deployments: [{{provider: second, model: gpt-4o-mini}}]
{LONG_GROUP.strip(chr(10))}
tenants:
  - name: default
    apps: [{{name: demo}}]
"""

# Three mistakes: an unknown provider, a timeout of zero, a fallback to no group.
BROKEN = """
  - name: primary
    type: mock
    timeout_s: 0
    keys: [{id: primary-1, value: sk-primary-secret-1}]
model_groups:
  - name: chat
    deployments: [{provider: nowhere}]
    fallbacks: [ghost]
"""


class Load:
    """Clients calling the gateway without pause, half of them streaming, until stopped; every
    answer that is not a complete 200 is kept."""

    def __init__(self, gw: Gateway, key: str, clients: int = 4):
        self.gw, self.key = gw, key
        self.stop = threading.Event()
        self.failures: list[str] = []
        self.done = Counter[str]()
        self.threads = [threading.Thread(target=self._run, args=(i % 2 == 1,)) for i in range(clients)]

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        until(lambda: self.done["stream"] >= 2 and self.done["json"] >= 2, "load running")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(60)

    def _run(self, stream: bool) -> None:
        body = {"model": "chat", "messages": [{"role": "user", "content": "hello there"}], "stream": stream}
        headers = {"Authorization": f"Bearer {self.key}"}
        with httpx.Client(base_url=self.gw.base_url, timeout=60) as client:
            while not self.stop.is_set():
                try:
                    if stream:
                        with client.stream("POST", "/v1/chat/completions", json=body, headers=headers) as r:
                            text = "".join(r.iter_text())
                            ok = r.status_code == 200 and text.rstrip().endswith("data: [DONE]")
                            ok = ok and '"error"' not in text
                    else:
                        r = client.post("/v1/chat/completions", json=body, headers=headers)
                        text, ok = r.text, r.status_code == 200
                except httpx.HTTPError as exc:
                    text, ok = repr(exc), False
                if not ok:
                    self.failures.append(text[-300:])
                self.done["stream" if stream else "json"] += 1


class LongStream(threading.Thread):
    """One stream of the `long` group (20 s), read to its end; `begun` is set at its first chunk."""

    def __init__(self, gw: Gateway, key: str):
        super().__init__()
        self.gw, self.key = gw, key
        self.begun = threading.Event()
        self.status, self.text, self.ended = 0, "", 0.0

    def run(self) -> None:
        body = {"model": "long", "messages": [{"role": "user", "content": "a long one"}], "stream": True}
        headers = {"Authorization": f"Bearer {self.key}"}
        with (
            httpx.Client(base_url=self.gw.base_url, timeout=120) as client,
            client.stream("POST", "/v1/chat/completions", json=body, headers=headers) as r,
        ):
            self.status = r.status_code
            for part in r.iter_text():
                self.text += part
                self.begun.set()
        self.ended = time.monotonic()
        self.begun.set()  # also when it failed before its first chunk


def run_cli(gw: Gateway, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args, "--config", str(gw.config)],
        capture_output=True,
        text=True,
        env={**os.environ, "AIGW_ADMIN_TOKEN": ADMIN_TOKEN},
    )


HELPERS_MOCK = "      - {id: mock-key-2, value: sk-mock-secret-2}\n"


def write_providers(gw: Gateway, providers_and_rest: str) -> None:
    """Replace everything after the Gateway helper's `mock` provider in the config file."""
    head = gw.config.read_text().split(HELPERS_MOCK)[0]
    gw.config.write_text(head + HELPERS_MOCK + providers_and_rest)


def served_by_every_worker(
    gw: Gateway, key: str, model: str, workers: int = 2, strict: bool = True
) -> set[str]:
    """Fresh connections until each worker has answered `model` with 200. `strict`: a refusal
    fails (the caller knows every worker serves it); else it means "not yet"."""
    seen: set[str] = set()
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    for _ in range(2000):
        r = httpx.post(
            gw.base_url + "/v1/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {key}", "Connection": "close"},
            timeout=30,
        )
        assert r.status_code == 200 or not strict, r.text
        if r.status_code == 200:
            seen.add(worker_of(r))
        if len(seen) == workers:
            return seen
    raise AssertionError(f"only workers {seen} answered")


@pytest.fixture
def node(tmp_path: Path) -> Iterator[tuple[Gateway, str]]:
    gw = Gateway(tmp_path, BASE, workers=2, server_yaml="shutdown_timeout_s: 5")
    key = gw.new_key()
    gw.start()
    yield gw, key
    assert gw.stop() == 0


def test_a_reload_under_load_serves_the_new_config_on_every_worker_and_no_request_fails(node):
    gw, key = node
    write_providers(gw, RELOADED)
    # What would change, without changing it.
    diff = run_cli(gw, "config", "diff")
    assert diff.returncode == 0, diff.stderr
    assert diff.stdout.splitlines() == [
        "+ providers[second]",
        "~ model_groups[chat].fallbacks: [] -> ['chat-2']",
        "+ model_groups[chat-2]",
    ]
    assert httpx.post(
        gw.base_url + "/v1/chat/completions",
        json={"model": "chat-2", "messages": [{"role": "user", "content": "not yet"}]},
        headers={"Authorization": f"Bearer {key}"},
    ).status_code == 404  # fmt: skip

    with Load(gw, key) as load:
        streams_before = load.done["stream"]
        long = LongStream(gw, key)
        long.start()
        assert long.begun.wait(60) and long.status == 200
        done = run_cli(gw, "reload")
        reload_ended = time.monotonic()
        assert done.returncode == 0, done.stderr
        assert "serving config 2" in done.stderr
        # The answer comes once every worker serves the new config (or says one has not yet).
        switched = "not every worker switched yet" not in done.stderr
        assert served_by_every_worker(gw, key, "chat-2", strict=switched)
        until(lambda: load.done["stream"] >= streams_before + 4, "streams across the reload")
    assert load.failures == []
    # A stream that began before the reload and ended after it finished whole, on the old config.
    long.join(120)
    assert long.ended > reload_ended
    assert long.text.rstrip().endswith("data: [DONE]") and '"error"' not in long.text

    # chat's new fallback serves it when chat's own keys cannot.
    for k in ("primary-1", "primary-2"):
        assert gw.admin("POST", f"/admin/upstream-keys/primary/{k}/disable").status_code == 200
    r = httpx.post(
        gw.base_url + "/v1/chat/completions",
        json={"model": "chat", "messages": [{"role": "user", "content": "fall back"}]},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert r.status_code == 200, r.text
    rid = r.headers["x-request-id"]
    call = until(
        lambda: gw.admin("GET", "/admin/calls", params={"request_id": rid}).json()["calls"], "logged"
    )
    assert call[0]["provider"] == "second"


def test_a_config_with_three_mistakes_is_refused_with_all_three_named_while_traffic_continues(node):
    gw, key = node
    write_providers(gw, BROKEN)
    with Load(gw, key) as load:
        refused = run_cli(gw, "reload")
        before = load.done.total()
        until(lambda: load.done.total() >= before + 4, "traffic after the refusal")
    assert load.failures == []
    assert refused.returncode == 1
    problems = [line.strip() for line in refused.stderr.splitlines()[1:]]
    assert problems == [
        "providers[1].timeout_s: Expected `float` > 0.0",
        "model_groups[0].deployments[0].provider: unknown provider 'nowhere'",
        "model_groups[0].fallbacks[0]: not another model group: 'ghost'",
    ], refused.stderr
    assert "Traceback" not in refused.stderr
    # The admin API says the same, and the node still serves its first config.
    answer = gw.admin("POST", "/admin/config/reload")
    assert answer.status_code == 422
    assert answer.json()["problems"] == problems and answer.json()["error"]["code"] == "config_refused"
    assert httpx.get(gw.base_url + "/health").json()["config"] == 1


def test_a_reload_that_changes_what_needs_a_restart_is_refused_naming_it(node):
    gw, _ = node
    text = gw.config.read_text()
    gw.config.write_text(text.replace("workers: 2", "workers: 3").replace(f"port: {gw.port}", "port: 1"))
    refused = gw.admin("POST", "/admin/config/reload", params={"dry_run": "true"})
    assert refused.status_code == 422
    assert refused.json()["problems"] == [
        "server.port: changing it needs a restart (the running node keeps serving the old value)",
        "server.workers: changing it needs a restart (the running node keeps serving the old value)",
    ]
    assert [c["path"] for c in refused.json()["changes"] if c["restart"]] == ["server.port", "server.workers"]


def test_sighup_reloads_the_config_file(node):
    gw, key = node
    write_providers(gw, RELOADED)
    assert gw.proc is not None
    os.kill(gw.proc.pid, signal.SIGHUP)
    # Nothing answers a signal: each worker serves the new config within its reload interval.
    assert served_by_every_worker(gw, key, "chat-2", strict=False)
    # A reload with nothing new changes nothing.
    again = gw.admin("POST", "/admin/config/reload").json()
    assert (again["applied"], again["config"], again["changes"]) == (True, 2, [])
    assert json.loads(run_cli(gw, "config", "diff").stdout or "[]") == []


def test_every_worker_of_a_node_started_later_serves_the_published_config(node):
    """A worker that starts after a reload (granian respawns one that died) serves what its
    siblings serve, not what the file says now."""
    gw, key = node
    write_providers(gw, RELOADED)
    assert gw.admin("POST", "/admin/config/reload").status_code == 200
    write_providers(gw, BASE)  # edited again, not reloaded
    workers = {worker_of(fresh_get(gw.base_url + "/v1/models", key)) for _ in range(20)}
    for pid in workers:
        os.kill(int(pid, 16), signal.SIGKILL)
    respawned: set[str] = set()

    def both_respawned() -> bool:
        try:
            answer = fresh_get(gw.base_url + "/v1/models", key)
        except httpx.TransportError:  # granian is still replacing them
            return False
        if answer.status_code == 200 and worker_of(answer) not in workers:
            respawned.add(worker_of(answer))
        return len(respawned) == 2

    until(both_respawned, "both workers replaced")
    assert served_by_every_worker(gw, key, "chat-2")
