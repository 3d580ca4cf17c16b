"""aigw under test: a generated config pointing at the bench upstream, a consumer key made
before start (so the workers' first tables have it), and `aigw serve` pinned to its cores."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .payloads import MODEL
from .procs import Child, Processes, StartError, free_port, pinned
from .procstat import leaves

APP = "bench"
PROVIDER_KEY = "sk-bench-upstream"
BANNER = "serving the OpenAI API"


@dataclass(frozen=True)
class Upstream:
    """The provider aigw sends to: its type, its keys, and the model name it is asked for ("":
    the model group's own name)."""

    type: str = "openai"
    keys: tuple[str, ...] = (PROVIDER_KEY,)
    model: str = ""


OPENAI = Upstream()


@dataclass
class Aigw:
    child: Child
    url: str  # http://127.0.0.1:PORT
    key: str  # the consumer key callers send as `Authorization: Bearer …`
    config: Path
    admin_url: str  # http://127.0.0.1:ADMIN_PORT (/metrics)
    consumer_keys: Path | None = None  # start(consumers=N): N more keys, one per line


def config_text(
    directory: Path,
    port: int,
    admin_port: int,
    upstream_base_url: str,
    workers: int,
    max_connections: int = 256,
    limits: bool = True,
    observability: bool = True,
    upstream: Upstream = OPENAI,
    app_limit: bool = True,
    store_url: str = "",
    extra: str = "",
    engine: str = "",
    more_providers: Sequence[tuple[str, str]] = (),
) -> str:
    # Every field is in docs/configuration.md. The store lives in the run's directory.
    # Three limits per request (tenant, app, model group), high enough never to refuse: the
    # admission work is measured, the rejections are not.
    limit = "\n    limits: [{requests: 1000000000, per: second}]" if limits else ""
    app_limits = "\n        limits: [{requests: 1000000000, per: second}]" if limits and app_limit else ""
    # Call logging and metrics off: what they cost is this instance's req/s against the other's.
    quiet = "" if observability else "calllog: {enabled: false}\nmetrics: {enabled: false}\n"

    def keys(prefix: str) -> str:
        return "\n".join(f"      - {{id: {prefix}key{i}, value: {k}}}" for i, k in enumerate(upstream.keys))

    # More providers of the same type and keys, each one more deployment of the model group.
    providers = [("upstream", upstream_base_url), *more_providers]
    provider_blocks = "".join(
        f"  - name: {name}\n    type: {upstream.type}\n    base_url: {url}\n"
        f"    max_connections: {max_connections}\n    keys:\n{keys('' if i == 0 else name + '-')}\n"
        for i, (name, url) in enumerate(providers)
    )
    deployments = "\n".join(
        f'      - {{provider: {name}, model: "{upstream.model}"}}' for name, _ in providers
    )
    # The data plane's HTTP server (`server.engine`); empty: the config's default.
    engine_line = f"\n  engine: {engine}" if engine else ""
    return f"""\
version: 1
server:
  host: 127.0.0.1
  port: {port}
  admin_port: {admin_port}
  workers: {workers}{engine_line}
store:
  {f"url: {store_url}" if store_url else f"path: {directory / 'aigw.db'}"}
providers:
{provider_blocks}model_groups:
  - name: {MODEL}{limit}
    deployments:
{deployments}
tenants:
  - name: bench{limit}
    apps:
      - name: {APP}
        models: ["*"]{app_limits}
{quiet}{extra}"""


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
    upstream: Upstream = OPENAI,
    consumers: int = 0,
    extra_config: str = "",
    stdout_path: Path | None = None,
    name: str = "aigw",
    engine: str = "",
    more_providers: Sequence[tuple[str, str]] = (),
) -> Aigw:
    """Start aigw in front of `upstream_base_url` (…/v1); returns once its banner is printed.
    With `consumers`, that many more consumer keys are made first, each with a limit of its
    own, and written one per line to `Aigw.consumer_keys`. `extra_config`: more sections of the
    config (`logging:`, `tracing:`); `stdout_path`: where its stdout (the access log) goes.
    `more_providers` (name, base URL) are more deployments of the model group, of the same type
    and keys as the first."""
    directory.mkdir(parents=True, exist_ok=True)
    port, admin_port = free_port(), free_port()
    config = directory / "aigw.yaml"
    config.write_text(
        config_text(
            directory,
            port,
            admin_port,
            upstream_base_url,
            workers,
            max_connections,
            limits,
            observability,
            upstream,
            # Many consumers: each key's own limit is the third limit, in place of the app's.
            app_limit=not consumers,
            extra=extra_config,
            engine=engine,
            more_providers=more_providers,
        )
    )
    key = create_key(config, src)
    consumer_keys = None
    if consumers:
        consumer_keys = directory / "consumer-keys.txt"
        create_consumers(config, consumers, consumer_keys, src)
    argv = _gateway("serve", "--config", str(config), "--workers", str(workers))
    child = procs.start(name, pinned(argv, cores), env=gateway_env(src), stdout_path=stdout_path)
    if stdout_path is None:
        child.wait_for_line(lambda line: BANNER in line, timeout_s=90)
    else:
        _wait_for_banner_in(stdout_path, child, 90)
    return Aigw(
        child=child,
        url=f"http://127.0.0.1:{port}",
        key=key,
        config=config,
        admin_url=f"http://127.0.0.1:{admin_port}",
        consumer_keys=consumer_keys,
    )


def _wait_for_banner_in(path: Path, child: Child, timeout_s: float) -> None:
    """The banner is stdout's first line; stdout goes to `path`."""
    deadline = time.monotonic() + timeout_s
    while BANNER not in path.read_text(errors="replace").partition("\n")[0]:
        if not child.alive():
            raise StartError(f"{child.name} exited (status {child.popen.poll()}){child.tail()}")
        if time.monotonic() > deadline:
            raise StartError(f"{child.name} was not ready within {timeout_s:g}s{child.tail()}")
        time.sleep(0.1)


# Run in a child with the aigw under test (gateway_env): N keys for the bench app, each with its
# own limit, never reached at bench rates (the admission work is measured, not rejections).
_CREATE_CONSUMERS = """
import sys
from gateway.config import load_config
from gateway.store import open_store
from gateway.store.records import LimitRule
from gateway.config.seed import seed

cfg = load_config(sys.argv[1])
store = open_store(url=cfg.store.url, path=cfg.store.path)
seed(store, cfg)
rule = [LimitRule(kind="requests", amount=1_000_000, period_s=1)]
with open(sys.argv[3], "w") as out:
    for _ in range(int(sys.argv[2])):
        record, secret = store.create_key(sys.argv[4])
        store.set_limits("key", record.id, rule)
        out.write(secret + "\\n")
store.close()
"""


def create_consumers(config: Path, n: int, out: Path, src: Path | None) -> None:
    subprocess.run(
        [sys.executable, "-c", _CREATE_CONSUMERS, str(config), str(n), str(out), APP],
        check=True,
        env=gateway_env(src),
        cwd=config.parent,
    )


def worker_pids(aigw: Aigw) -> list[int]:
    """The data plane's worker processes (the leaves of aigw's process tree), for profilers."""
    return leaves(aigw.child.pid)
