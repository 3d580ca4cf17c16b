"""Real gateway processes for end-to-end tests: `aigw serve` with 2 workers and the bundled mock
provider, driven over real sockets. AIGW_TEST_ENGINE (`granian` or `native`) picks the data
plane's engine for every gateway the suite starts; unset, the config's default."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.procs import free_port

ADMIN_TOKEN = "test-admin-token"
ENGINE = os.environ.get("AIGW_TEST_ENGINE", "")


class Gateway:
    def __init__(
        self,
        tmp: Path,
        extra_yaml: str = "",
        workers: int = 2,
        server_yaml: str = "",
        store_url: str = "",
        capture_log: bool = False,
    ):
        self.port, self.admin_port = free_port(), free_port()
        # What the node writes to stderr (its log), into a file a test can read; else inherited.
        self.log = tmp / "aigw.log" if capture_log else None
        self.config = tmp / "aigw.yaml"
        # A PostgreSQL store (shared by the nodes given the same URL), else a SQLite file of its own.
        store = f"url: {store_url}" if store_url else f"path: {tmp / 'aigw.db'}"
        # `server_yaml`: more lines of the server section, each as `field: value`.
        lines = textwrap.dedent(server_yaml).strip().splitlines()
        if ENGINE and not any(line.startswith("engine:") for line in lines):
            lines.append(f"engine: {ENGINE}")
        server = "".join(f"\n  {line}" for line in lines)
        self.config.write_text(
            textwrap.dedent(
                f"""
                server:
                  port: {self.port}
                  admin_port: {self.admin_port}
                  workers: {workers}"""
            )
            + server
            + textwrap.dedent(
                f"""
                store:
                  {store}
                providers:
                  - name: mock
                    type: mock
                    keys:
                      - {{id: mock-key-1, value: sk-mock-secret-1}}
                      - {{id: mock-key-2, value: sk-mock-secret-2}}
                """
            )
            + textwrap.dedent(extra_yaml)
        )
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.admin_url = f"http://127.0.0.1:{self.admin_port}"
        self.proc: subprocess.Popen[str] | None = None
        self.keys: dict[str, str] = {}

    def start(self) -> Gateway:
        # AIGW_HOME: what the node keeps on local disk (a PostgreSQL store's journal) stays in its
        # own directory.
        env = {**os.environ, "AIGW_ADMIN_TOKEN": ADMIN_TOKEN, "AIGW_HOME": str(self.config.parent)}
        stderr = self.log.open("w") if self.log is not None else None
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--config", str(self.config)],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
        )
        if stderr is not None:
            stderr.close()  # the node holds its own descriptor
        assert self.proc.stdout is not None
        banner = self.proc.stdout.readline()  # printed once the data plane answers
        assert "serving the OpenAI API" in banner, f"gateway did not start: {banner!r}"
        return self

    def log_text(self) -> str:
        assert self.log is not None, "start the Gateway with capture_log=True"
        return self.log.read_text()

    def assert_log_clean(self) -> None:
        """Nothing the node logged is an ERROR or a traceback (start it with capture_log=True)."""
        text = self.log_text()
        assert " ERROR " not in text and "Traceback" not in text, text

    def cli(self, *args: str) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "gateway", *args, "--config", str(self.config)],
            capture_output=True,
            text=True,
            env={**os.environ, "AIGW_ADMIN_TOKEN": ADMIN_TOKEN},
        )
        assert out.returncode == 0, f"aigw {' '.join(args)} exited {out.returncode}: {out.stderr}"
        return out.stdout.strip()

    def new_key(self, app: str = "demo") -> str:
        return self.cli("keys", "create", "--app", app)

    def admin(self, method: str, path: str, **kwargs) -> httpx.Response:
        return Admin(self.admin_url, ADMIN_TOKEN)(method, path, **kwargs)

    def finish(self) -> tuple[int, str, str]:
        """SIGTERM, and everything the node wrote after its banner: (exit code, stdout, its log
        lines when started with capture_log)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=60)
        return self.proc.returncode, out, self.log_text() if self.log is not None else ""

    def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        return code


def serving_demo(gateway: Gateway) -> Iterator[Gateway]:
    """A module's gateway: a key for app `demo`, started; once the module is done, stopped cleanly
    with nothing logged as an ERROR."""
    gateway.keys = {"demo": gateway.new_key()}
    gateway.start()
    yield gateway
    assert gateway.stop() == 0
    gateway.assert_log_clean()


def worker_of(response: httpx.Response) -> str:
    # x-request-id is req_<worker pid>_<n>: it tells which worker answered.
    return response.headers["x-request-id"].split("_")[1]


def fresh_get(url: str, key: str) -> httpx.Response:
    # A new connection each time, so the kernel spreads requests over the workers.
    return httpx.get(url, headers={"Authorization": f"Bearer {key}", "Connection": "close"})


def admitted_by_every_worker(gw: Gateway, key: str, workers: int = 2, strict: bool = False) -> set[str]:
    """Fresh connections until each worker has answered 200 with `key`. Returns the workers.
    A key made in the store directly (the CLI) reaches each within its reload interval, so a
    refusal means "not yet"; `strict`, for a key the admin API made (answered once every worker
    serves it), a refusal fails the test."""
    serving: set[str] = set()
    for _ in range(5000):
        response = fresh_get(gw.base_url + "/v1/models", key)
        assert response.status_code == 200 or not strict, response.text
        if response.status_code == 200:
            serving.add(worker_of(response))
            if len(serving) == workers:
                return serving
    raise AssertionError(f"only workers {serving} ever admitted the key")


def start_upstream_mock(*args: str, module: str = "gateway.mock") -> tuple[subprocess.Popen[str], str]:
    """A mock provider of our own (so tests can read its counters): the OpenAI one by default, or
    another module that prints the same `mock listening on URL` line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", module, "--port", "0", *args], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().split("mock listening on ")[1].strip()


def stop_upstream_mock(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    proc.wait(timeout=10)
    assert proc.stdout is not None
    proc.stdout.close()


@dataclass(frozen=True)
class OpenAIAndAnthropic:
    """Our OpenAI mock (key `k` = sk-k) and the Anthropic mock, running; `providers` is the YAML
    of a provider for each — `upstream` (openai) and `claude` (anthropic) — to begin a config."""

    openai_url: str
    anthropic_url: str

    @property
    def urls(self) -> list[str]:
        return [self.openai_url, self.anthropic_url]

    @property
    def providers(self) -> str:
        return f"""
  - name: upstream
    type: openai
    base_url: {self.openai_url}/v1
    keys: [{{id: k, value: sk-k}}]
  - name: claude
    type: anthropic
    base_url: {self.anthropic_url}
    keys: [{{id: c, value: sk-ant-c}}]"""


@contextmanager
def openai_and_anthropic_mocks(*openai_args: str) -> Iterator[OpenAIAndAnthropic]:
    """Both mocks for a module's gateway (a pass-through group and a translated one); stopped on
    leaving, after the gateway. `openai_args`: more of the OpenAI mock's command line."""
    mock, openai_url = start_upstream_mock("--key", "k=sk-k", *openai_args)
    try:
        claude, anthropic_url = start_upstream_mock(module="tests.mocks.anthropic_server")
        try:
            yield OpenAIAndAnthropic(openai_url, anthropic_url)
        finally:
            stop_upstream_mock(claude)
    finally:
        stop_upstream_mock(mock)


def pool_yaml(upstream: str, *key_ids: str, extra: str = "") -> str:
    """An `openai` provider at `upstream` with keys `<id>` = `sk-<id>`, serving model group `chat`."""
    keys = "\n".join(f"      - {{id: {k}, value: sk-{k}}}" for k in key_ids)
    return f"""
  - name: upstream
    type: openai
    base_url: {upstream}/v1
    keys:
{keys}
model_groups:
  - name: chat
    deployments: [{{provider: upstream, model: gpt-4o-mini}}]
tenants:
  - name: default
    apps: [{{name: demo}}]
{extra}"""


MODELS_YAML = """
model_groups:
  - name: gpt-4o-mini
    deployments: [{provider: mock}]
    aliases: [gpt-4o-mini-latest]
  - name: text-embedding-3-small
    deployments: [{provider: mock}]
tenants:
  - name: default
    apps:
      - {name: demo, models: ["*"]}
      - {name: embed-only, models: [text-embedding-3-small]}
"""


# Two tenants for the tenancy tests: acme's `tools` may call every model group, beta's `web`
# none (it reaches acme's services through subscriptions).
TENANCY_YAML = """
model_groups:
  - name: gpt-4o-mini
    deployments: [{provider: mock}]
tenants:
  - name: acme
    apps: [{name: tools}]
  - name: beta
    apps: [{name: web, models: []}]
"""


@pytest.fixture(scope="module")
def gateway(tmp_path_factory) -> Iterator[Gateway]:
    gw = Gateway(tmp_path_factory.mktemp("gw"), MODELS_YAML)
    # Keys made before start are in the workers' first tables: no waiting for a reload.
    gw.keys = {app: gw.new_key(app) for app in ("demo", "embed-only")}
    gw.start()
    yield gw
    assert gw.stop() == 0


@pytest.fixture(scope="module")
def api_key(gateway: Gateway) -> str:
    return gateway.keys["demo"]


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


# -- tenancy: the admin API as one principal, and waiting for the workers' reload -----------

# Workers reload within reload_interval_s (0.25 s) of a change; "within 1 s" is the promise.
RELOAD_DEADLINE_S = 10.0


def until(check: Callable[[], Any], what: str, timeout_s: float = RELOAD_DEADLINE_S) -> Any:
    """Poll `check` until it returns something truthy: waits for the workers' reload (or whatever
    other processes change), never for a fixed time."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.02)


class Admin:
    """The admin API as one principal. A change the data plane serves is answered once every
    worker serves it; should the answer say a worker was slower than that (a loaded machine),
    this waits until the node reports every worker serves it — so a test acts on the change next."""

    def __init__(self, url: str, token: str):
        self.url = url
        self.token = token

    def __call__(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        response = httpx.request(method, self.url + path, headers=headers, timeout=30, **kwargs)
        if response.headers.get("aigw-config-applied") == "false":
            generation = int(response.headers["aigw-config-generation"])
            until(lambda: self.loaded_generation() >= generation, f"every worker at generation {generation}")
        return response

    def loaded_generation(self) -> int:
        """The oldest store generation a worker of the node serves."""
        return int(httpx.get(self.url + "/ready", timeout=30).json()["loaded_generation"])

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self(method, path, **kwargs)
        assert response.status_code in (200, 201), response.text
        return response.json()


def member_token(operator: Admin, tenant: str, user: str, role: str = "owner") -> Admin:
    operator.ok("PUT", f"/admin/tenants/{tenant}/members/{user}", json={"role": role})
    created = operator.ok("POST", "/admin/tokens", json={"user": user, "tenant": tenant})
    assert created["token"].startswith("aigw-admin-") and created["record"]["tenant"] == tenant
    return Admin(operator.url, created["token"])
