"""aigw under test: a generated config pointing at the bench upstream, a consumer key made
before start (so the workers' first tables have it), and `aigw serve` pinned to its cores."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .payloads import MODEL
from .procs import Child, Processes, free_port, pinned
from .procstat import leaves

APP = "bench"
PROVIDER_KEY = "sk-bench-upstream"
BANNER = "serving the OpenAI API"


@dataclass
class Aigw:
    child: Child
    url: str  # http://127.0.0.1:PORT
    key: str  # the consumer key callers send as `Authorization: Bearer …`
    config: Path


def config_text(
    directory: Path,
    port: int,
    admin_port: int,
    upstream_base_url: str,
    workers: int,
    max_connections: int = 256,
    limits: bool = True,
    observability: bool = True,
) -> str:
    # Every field is in docs/configuration.md. The store lives in the run's directory.
    # Three limits per request (tenant, app, model group), high enough never to refuse: the
    # admission work is measured, the rejections are not.
    limit = "\n    limits: [{requests: 1000000000, per: second}]" if limits else ""
    app_limit = "\n        limits: [{requests: 1000000000, per: second}]" if limits else ""
    # Call logging and metrics off: what they cost is this instance's req/s against the other's.
    quiet = "" if observability else "calllog: {enabled: false}\nmetrics: {enabled: false}\n"
    return f"""\
version: 1
server:
  host: 127.0.0.1
  port: {port}
  admin_port: {admin_port}
  workers: {workers}
store:
  path: {directory / "aigw.db"}
providers:
  - name: upstream
    type: openai
    base_url: {upstream_base_url}
    max_connections: {max_connections}
    keys:
      - {{id: bench, value: {PROVIDER_KEY}}}
model_groups:
  - name: {MODEL}{limit}
    deployments:
      - provider: upstream
tenants:
  - name: bench{limit}
    apps:
      - name: {APP}
        models: ["*"]{app_limit}
{quiet}"""


def _gateway(*args: str) -> list[str]:
    return [sys.executable, "-m", "gateway", *args]


def gateway_env(src: Path | None) -> dict[str, str] | None:
    """The environment that runs the `gateway` package from `src` (a checkout with its native
    core built, or a `pip install --target` directory) instead of the installed one."""
    if src is None:
        return None
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(src), os.environ.get("PYTHONPATH")])),
    }


def version(src: Path | None) -> str:
    out = subprocess.run(
        [sys.executable, "-c", "from gateway._version import __version__ as v; print(v)"],
        capture_output=True,
        text=True,
        env=gateway_env(src),
        cwd="/",  # not the caller's directory, which may hold another `gateway/`
    )
    return out.stdout.strip() or "unknown"


def create_key(config: Path, src: Path | None) -> str:
    out = subprocess.run(
        _gateway("keys", "create", "--app", APP, "--config", str(config)),
        capture_output=True,
        text=True,
        timeout=60,
        env=gateway_env(src),
        cwd=config.parent,
    )
    if out.returncode != 0:
        raise RuntimeError(f"`aigw keys create` failed: {out.stderr.strip()}")
    return out.stdout.strip()


def start(
    procs: Processes,
    directory: Path,
    upstream_base_url: str,
    cores: str | None,
    workers: int = 1,
    src: Path | None = None,
    max_connections: int = 256,
    limits: bool = True,
    observability: bool = True,
) -> Aigw:
    """Start aigw in front of `upstream_base_url` (…/v1); returns once its banner is printed."""
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = directory / "aigw.yaml"
    config.write_text(
        config_text(
            directory, port, free_port(), upstream_base_url, workers, max_connections, limits, observability
        )
    )
    key = create_key(config, src)
    argv = _gateway("serve", "--config", str(config), "--workers", str(workers))
    child = procs.start("aigw", pinned(argv, cores), env=gateway_env(src))
    child.wait_for_line(lambda line: BANNER in line, timeout_s=90)
    return Aigw(child=child, url=f"http://127.0.0.1:{port}", key=key, config=config)


def worker_pids(aigw: Aigw) -> list[int]:
    """The granian worker processes (the leaves of aigw's process tree), for profilers."""
    return leaves(aigw.child.pid)
