"""Provider keys added, rotated and removed while the node runs: every worker follows within a
reload, the secrets are sealed at rest and never shown, and config-file keys keep working."""

import os
import subprocess
import sys
import time

import httpx

from tests.e2e.conftest import ADMIN_TOKEN, Gateway, pool_yaml, start_upstream_mock, stop_upstream_mock

from .test_key_pools import call

# Generous for a loaded machine: workers look for changes every 0.25 s.
RELOAD_DEADLINE_S = 10.0


def upstream_keys_cli(gw: Gateway, *args: str, stdin: str = "", env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "gateway", "upstream-keys", *args, "--config", str(gw.config)],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "AIGW_ADMIN_TOKEN": ADMIN_TOKEN, **(env or {})},
    )


def served(upstream: str) -> dict[str, int]:
    return httpx.get(upstream + "/_mock/stats").json()["requests_by_key"]


def upstream_states(gw: Gateway) -> set[tuple[str, str]]:
    keys = gw.admin("GET", "/admin/upstream-keys").json()
    return {(k["key_id"], k["state"]) for k in keys if k["provider"] == "upstream"}


def state_of(gw: Gateway, key_id: str) -> str:
    return next(k["state"] for k in gw.admin("GET", "/admin/upstream-keys").json() if k["key_id"] == key_id)


def load_until(gw: Gateway, key: str, upstream: str, done) -> dict[str, int]:
    """Send requests (every one must succeed) until `done(counts before, counts after)` holds for
    a batch of 20."""
    deadline = time.monotonic() + RELOAD_DEADLINE_S
    while True:
        before = served(upstream)
        assert [call(gw.port, key)[0] for _ in range(20)] == [200] * 20
        after = served(upstream)
        if done(before, after):
            return after
        assert time.monotonic() < deadline, (before, after)


def test_a_key_added_rotated_and_removed_at_runtime_is_followed_by_every_worker(tmp_path):
    # The mock knows the added key's first and second secret under labels of their own.
    mock, upstream = start_upstream_mock(
        "--key", "key-a=sk-key-a", "--key", "first=sk-runtime-first", "--key", "second=sk-runtime-second"
    )
    gw = Gateway(
        tmp_path,
        pool_yaml(upstream, "key-a").replace("name: chat\n", "name: chat\n    strategy: round-robin\n"),
    )
    key = gw.new_key()
    gw.start()
    try:
        out = upstream_keys_cli(
            gw, "add", "upstream", "extra", "--from-env", "NEW_KEY", env={"NEW_KEY": "sk-runtime-first"}
        )
        assert (out.returncode, out.stdout.strip()) == (0, "added upstream/extra"), out.stderr
        load_until(gw, key, upstream, lambda b, a: a["first"] > b["first"] and a["key-a"] > b["key-a"])

        # A wrong secret: the provider refuses it, the key is marked invalid, callers see nothing.
        out = upstream_keys_cli(gw, "rotate", "upstream", "extra", stdin="sk-unknown-upstream\n")
        assert out.returncode == 0, out.stderr
        deadline = time.monotonic() + RELOAD_DEADLINE_S
        while state_of(gw, "extra") != "invalid":
            assert call(gw.port, key)[0] == 200
            assert time.monotonic() < deadline, state_of(gw, "extra")

        # The right secret: the key serves again at once, not after its (300 s) invalid probe,
        # though a worker that had not reloaded yet may have sent the wrong secret once more.
        out = upstream_keys_cli(gw, "rotate", "upstream", "extra", stdin="sk-runtime-second\n")
        assert out.returncode == 0, out.stderr
        load_until(gw, key, upstream, lambda b, a: a["first"] == b["first"] and a["second"] > b["second"])
        # A worker that loads the wrong secret only after another restored the key refuses it once
        # more; its next reload, which brings the right one, restores the key again.
        deadline = time.monotonic() + RELOAD_DEADLINE_S
        while (states := upstream_states(gw)) != {("key-a", "healthy"), ("extra", "healthy")}:
            assert call(gw.port, key)[0] == 200
            assert time.monotonic() < deadline, states

        # A restart finds the key in the store and opens its sealed secret.
        assert gw.stop() == 0
        gw.start()
        load_until(gw, key, upstream, lambda b, a: a["second"] > b["second"])

        out = upstream_keys_cli(gw, "remove", "upstream", "extra")
        assert out.returncode == 0, out.stderr
        load_until(
            gw, key, upstream, lambda b, a: a["second"] == b["second"] and a["key-a"] == b["key-a"] + 20
        )
        keys = gw.admin("GET", "/admin/upstream-keys").json()
        assert [k["key_id"] for k in keys if k["provider"] == "upstream"] == ["key-a"]
    finally:
        assert gw.stop() == 0
        stop_upstream_mock(mock)
    # Sealed at rest: no secret in the database files, the data key readable by its owner only.
    for name in ("aigw.db", "aigw.db-wal"):
        path = tmp_path / name
        assert not path.exists() or b"sk-runtime" not in path.read_bytes()
    assert (tmp_path / "aigw.db.key").stat().st_mode & 0o777 == 0o600


def test_bad_runtime_key_changes_are_refused_clearly_and_never_echo_the_secret(tmp_path):
    gw = Gateway(tmp_path, pool_yaml("http://127.0.0.1:9", "key-a"))
    gw.start()
    try:
        path = "/admin/upstream-keys/upstream"
        cases = [
            (
                "POST",
                "/admin/upstream-keys/nope",
                {"key_id": "x", "secret": "sk-good"},
                404,
                "no provider 'nope'",
            ),
            ("POST", path, {"key_id": "key-a", "secret": "sk-good"}, 409, "in the config file"),
            ("POST", path, {"key_id": "x", "secret": "sk-bad\r\nX-Injected: 1"}, 400, "printable ASCII"),
            ("POST", path, {"key_id": "a b", "secret": "sk-good"}, 400, "key_id must be"),
            ("PUT", path + "/key-a", {"secret": "sk-good"}, 409, "comes from the config file"),
            ("PUT", path + "/ghost", {"secret": "sk-good"}, 404, "no stored key 'ghost'"),
            ("DELETE", path + "/ghost", None, 404, "no stored key 'ghost'"),
        ]
        for method, url, body, status, message in cases:
            resp = gw.admin(method, url, json=body)
            assert resp.status_code == status, (method, url, resp.text)
            assert message in resp.json()["error"]["message"]
            assert "sk-bad" not in resp.text and "sk-good" not in resp.text
        added = gw.admin("POST", path, json={"key_id": "x", "secret": "sk-kept-secret"})
        assert added.status_code == 201 and "sk-kept" not in added.text
        again = gw.admin("POST", path, json={"key_id": "x", "secret": "sk-kept-secret"})
        assert again.status_code == 409 and "sk-kept" not in again.text
        assert "sk-kept" not in gw.admin("GET", "/admin/upstream-keys").text
        out = upstream_keys_cli(gw, "rotate", "upstream", "key-a", stdin="sk-new\n")
        assert out.returncode == 1 and "comes from the config file" in out.stderr
    finally:
        assert gw.stop() == 0


def test_a_node_that_cannot_open_its_stored_keys_refuses_to_start_and_says_why(tmp_path):
    gw = Gateway(tmp_path, pool_yaml("http://127.0.0.1:9", "key-a"))
    gw.start()
    try:
        assert (
            gw.admin(
                "POST", "/admin/upstream-keys/upstream", json={"key_id": "x", "secret": "sk-x"}
            ).status_code
            == 201
        )
    finally:
        assert gw.stop() == 0
    wrong = "a2V5LWZyb20tYW5vdGhlci1ub2RlLTMyLWJ5dGVzISE="  # 32 bytes, not this store's data key
    out = subprocess.run(
        [sys.executable, "-m", "gateway", "serve", "--config", str(gw.config)],
        capture_output=True,
        text=True,
        env={**os.environ, "AIGW_SECRET_KEY": wrong},
        timeout=60,
    )
    assert out.returncode == 2
    assert "not the one it was stored with" in out.stderr and "Traceback" not in out.stderr
