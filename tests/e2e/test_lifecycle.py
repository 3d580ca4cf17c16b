"""Config changes reach every worker without a restart; SIGTERM drains in-flight work."""

import signal
import time

import httpx
import pytest

from .conftest import ADMIN_TOKEN, MODELS_YAML, Admin, Gateway, admitted_by_every_worker, fresh_get, worker_of

WORKERS = 2


@pytest.fixture
def gw(tmp_path):
    gw = Gateway(tmp_path, MODELS_YAML, workers=WORKERS)
    gw.keys["demo"] = gw.new_key()
    gw.start()
    yield gw
    assert gw.stop() == 0


def test_a_revoked_key_is_refused_by_every_worker_within_one_second(gw):
    url = gw.base_url + "/v1/models"
    key = gw.keys["demo"]
    serving = set()
    for _ in range(500):
        response = fresh_get(url, key)
        assert response.status_code == 200
        serving.add(worker_of(response))
        if len(serving) == WORKERS:
            break
    assert len(serving) == WORKERS, "requests never reached every worker"

    key_id = gw.cli("keys", "list").splitlines()[1].split()[0]  # under the header
    gw.cli("keys", "revoke", key_id)
    revoked_at = time.monotonic()
    refused_by: set[str] = set()
    for _ in range(5000):
        response = fresh_get(url, key)
        worker = worker_of(response)
        if response.status_code == 200:
            # The documented bound: no worker admits a revoked key 1 s after revocation.
            assert time.monotonic() - revoked_at < 1.0
            assert worker not in refused_by, "a worker admitted the key again after refusing it"
        else:
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "invalid_api_key"
            refused_by.add(worker)
            if refused_by == serving:
                break
    assert refused_by == serving


def test_a_key_made_or_revoked_through_the_admin_api_holds_on_every_worker_once_answered(gw):
    admin = Admin(gw.admin_url, ADMIN_TOKEN)
    created = admin("POST", "/admin/keys", json={"app": "demo"})
    assert created.status_code == 201
    # The answer names the generation holding the key and says whether every worker served it
    # then (else the helper waited until the node said so): from here no worker refuses it.
    generation = int(created.headers["aigw-config-generation"])
    assert created.headers["aigw-config-applied"] in ("true", "false")
    assert admin.loaded_generation() >= generation
    key = created.json()["key"]
    serving = admitted_by_every_worker(gw, key, WORKERS, strict=True)

    revoked = admin("POST", f"/admin/keys/{created.json()['record']['id']}/revoke")
    assert revoked.status_code == 200
    assert int(revoked.headers["aigw-config-generation"]) > generation
    refused_by: set[str] = set()
    for _ in range(5000):  # fresh connections until every worker has answered: each one refuses
        response = fresh_get(gw.base_url + "/v1/models", key)
        assert response.status_code == 401, response.text
        refused_by.add(worker_of(response))
        if refused_by == serving:
            break
    assert refused_by == serving


def test_sigterm_lets_an_in_flight_stream_finish_then_exits_zero(tmp_path):
    slow_stream = MODELS_YAML.replace(
        "  - name: text-embedding-3-small\n    deployments: [{provider: mock}]",
        "  - name: text-embedding-3-small\n    deployments: [{provider: mock}]\n"
        "  - name: slow-stream\n    deployments: [{provider: slow, model: gpt-4o-mini}]",
    ).replace(
        "model_groups:",
        "  - name: slow\n    type: mock\n    mock: {stream_chunks: 20, chunk_interval_ms: 50}\n"
        "    keys: [{id: s, value: sk-slow}]\nmodel_groups:",
    )
    gw = Gateway(tmp_path, slow_stream, workers=WORKERS)
    key = gw.new_key()
    gw.start()
    body = {"model": "slow-stream", "stream": True, "messages": [{"role": "user", "content": "one two"}]}
    events = []
    with httpx.stream(
        "POST",
        gw.base_url + "/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    ) as response:
        assert response.status_code == 200
        lines = response.iter_lines()
        for line in lines:
            if line.startswith("data: "):
                events.append(line)
                break
        gw.proc.send_signal(signal.SIGTERM)
        events += [line for line in lines if line.startswith("data: ")]
    assert events[-1] == "data: [DONE]"
    content_chunks = [e for e in events if '"content":"' in e and '"content":""' not in e]
    assert len(content_chunks) == 20
    assert gw.proc.wait(timeout=60) == 0
    gw.proc.stdout.close()
