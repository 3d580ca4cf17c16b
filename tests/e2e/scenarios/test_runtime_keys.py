"""Provider keys added, rotated and removed while the node runs: every worker serves the change by
the time the admin API answers, the secrets are sealed at rest and never shown, and config-file
keys keep working."""

import os
import subprocess
import sys

import httpx

from tests.e2e.conftest import (
    ADMIN_TOKEN,
    Admin,
    Gateway,
    pool_yaml,
    start_upstream_mock,
    stop_upstream_mock,
    until,
)

from .test_key_pools import call


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


def changed(gw: Gateway, out: subprocess.CompletedProcess[str]) -> None:
    """The CLI's change went through the admin API, which answers once every worker serves it. On
    a machine so loaded that a worker was slower, the CLI says so: then wait until the node
    reports every worker serves it."""
    assert out.returncode == 0, out.stderr
    if "not every worker served it" in out.stderr:
        generation = int(out.stderr.split("stored as generation ")[1].split(",")[0])
        admin = Admin(gw.admin_url, ADMIN_TOKEN)
        until(lambda: admin.loaded_generation() >= generation, f"every worker at generation {generation}")


def batch(gw: Gateway, key: str, upstream: str) -> tuple[dict[str, int], dict[str, int]]:
    """20 requests, each on a fresh connection so they spread over the workers, every one
    answered 200; the upstream's counts by key before and after."""
    before = served(upstream)
    assert [call(gw.port, key)[0] for _ in range(20)] == [200] * 20
    return before, served(upstream)


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
        changed(gw, out)
        assert out.stdout.strip() == "added upstream/extra"
        # Round robin over both keys on every worker: whichever worker takes how many, both serve.
        before, after = batch(gw, key, upstream)
        assert after["first"] > before["first"] and after["key-a"] > before["key-a"]

        # A wrong secret: the provider refuses it, the key is marked invalid, callers see nothing.
        changed(gw, upstream_keys_cli(gw, "rotate", "upstream", "extra", stdin="sk-unknown-upstream\n"))
        before, after = batch(gw, key, upstream)
        assert after["first"] == before["first"] and state_of(gw, "extra") == "invalid"

        # The right secret: the key serves again at once, not after its (300 s) invalid probe.
        changed(gw, upstream_keys_cli(gw, "rotate", "upstream", "extra", stdin="sk-runtime-second\n"))
        before, after = batch(gw, key, upstream)
        assert after["first"] == before["first"] and after["second"] > before["second"]
        assert upstream_states(gw) == {("key-a", "healthy"), ("extra", "healthy")}

        # A restart finds the key in the store and opens its sealed secret.
        assert gw.stop() == 0
        gw.start()
        before, after = batch(gw, key, upstream)
        assert after["second"] > before["second"]

        changed(gw, upstream_keys_cli(gw, "remove", "upstream", "extra"))
        before, after = batch(gw, key, upstream)
        assert after["second"] == before["second"] and after["key-a"] == before["key-a"] + 20
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
