"""`cluster`: 1..N aigw nodes sharing PostgreSQL and Redis behind the shipped nginx load balancer
(deploy/lb/nginx.conf), with shared limits in exact mode and in lease mode, against one node on
its own (SQLite, no cluster) in the same run. Every request is charged to an app limit high
enough never to refuse: what is measured is what sharing it costs. The nodes run on the aigw
cores; the upstream, the balancer, PostgreSQL, Redis and wrk on the load cores."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from .. import aigw
from ..console import log
from ..install import ensure_command
from ..measure import Target
from ..nodes import READY
from ..payloads import CHAT_PATH
from ..procs import Child, free_port, pinned, wait_for_port
from ..report import Panel, Report
from ..services import PostgresServer, RedisServer
from . import RunContext, Scenario
from .common import is_chat_completion
from .compare import Loaded, aigw_target, chat, chat_upstream, compare, report

LB_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "lb" / "nginx.conf"
# The data key every node shares (bench only: 32 zero bytes in base64).
DATA_KEY = "A" * 43 + "="


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--nodes", type=int, default=3, help="the most nodes (each count from 1 is run; default 3)"
    )
    p.add_argument("--workers", type=int, default=1, help="aigw worker processes per node (default 1)")
    p.add_argument("--modes", default="lease,exact", help="limit modes to run (default lease,exact)")


def _balancer_config(directory: Path, port: int, backends: list[int]) -> str:
    """deploy/lb/nginx.conf with only what one machine needs changed: the nodes, the port, and
    the paths nginx writes."""
    text = LB_CONFIG.read_text()
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in backends)
    text, found = re.subn(
        r"(?m)^\s*server aigw1:8080.*\n(?:\s*server aigw\d:8080.*\n)*", servers + "\n", text
    )
    assert found == 1, "the shipped nginx.conf no longer lists aigw1..3"
    text = text.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    text = text.replace("access_log /dev/stdout;", "access_log off;")
    return f"pid {directory}/nginx.pid;\n" + text.replace(
        "error_log stderr warn;", f"error_log {directory}/error.log warn;"
    )


def _start_balancer(ctx: RunContext, name: str, backends: list[int]) -> tuple[Child, str]:
    directory = ctx.run_dir / name
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = directory / "nginx.conf"
    config.write_text(_balancer_config(directory, port, backends))
    argv = ["nginx", "-p", str(directory), "-c", str(config), "-g", "daemon off;"]
    child = ctx.procs.start(name, pinned(argv, ctx.load_cores))
    if not wait_for_port(port, 30, alive=child.alive):
        raise RuntimeError(f"the balancer did not start{child.tail()}")
    return child, f"http://127.0.0.1:{port}"


def _start_cluster(
    ctx: RunContext, name: str, upstream: str, pg: PostgresServer, redis: RedisServer, nodes: int, mode: str
) -> tuple[Child, str, str]:
    """`nodes` nodes on a new database, one process tree; returns it, a consumer key, its URL."""
    a = ctx.args
    database = pg.create_database()
    extra = f"cluster:\n  redis_url: {redis.url}\n  limits: {mode}\n"
    configs, ports = [], []
    for i in range(nodes):
        directory = ctx.run_dir / name / f"node{i}"
        directory.mkdir(parents=True, exist_ok=True)
        port = free_port()
        text = aigw.config_text(
            directory, port, free_port(), upstream, a.workers, store_url=database, extra=extra
        )
        (directory / "aigw.yaml").write_text(text)
        configs.append(str(directory / "aigw.yaml"))
        ports.append(port)
    env = {**os.environ, "AIGW_SECRET_KEY": DATA_KEY, **(aigw.gateway_env(a.aigw_src) or {})}
    key = aigw.create_key(Path(configs[0]), a.aigw_src)
    argv = [sys.executable, "-m", "bench.nodes", *configs]
    child = ctx.procs.start(name, pinned(argv, ctx.aigw_cores), env=env)
    child.wait_for_line(lambda line: line.startswith(READY), timeout_s=180)
    _, url = _start_balancer(ctx, f"{name}-lb", ports)
    return child, key, url


def run(ctx: RunContext) -> Report:
    a = ctx.args
    port, _ = chat_upstream(ctx)
    base_url = f"http://127.0.0.1:{port}/v1"
    direct = Target(
        "direct", f"http://127.0.0.1:{port}{CHAT_PATH}", None, headers={"Content-Type": "application/json"}
    )
    loaded: list[Loaded] = [chat(direct, is_chat_completion)]
    alone = aigw.start(ctx.procs, ctx.run_dir / "alone", base_url, ctx.aigw_cores, a.workers, a.aigw_src)
    loaded.append(chat(aigw_target("alone", alone), is_chat_completion))
    log("starting PostgreSQL and Redis on the load cores")
    ensure_command("redis-server", "redis-server", "the cluster's shared state")
    ensure_command("pg_ctlcluster", "postgresql", "the cluster's shared store")
    pg = PostgresServer(ctx.load_cores).start()
    redis = RedisServer(ctx.load_cores).start()
    try:
        for mode in a.modes.split(","):
            for n in range(1, a.nodes + 1):
                name = f"{mode}-{n}"
                log(f"starting {n} node(s), {mode} limits, behind nginx")
                child, key, url = _start_cluster(ctx, name, base_url, pg, redis, n, mode)
                headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
                loaded.append(
                    chat(Target(name, url + CHAT_PATH, child.pid, headers=headers), is_chat_completion)
                )
        result = compare(ctx, loaded)
    finally:
        redis.close()
        pg.stop()
    s = result.summary
    notes = [
        "One request = one app limit charged (high enough never to refuse). `alone`: one node, its "
        "own SQLite store, no Redis. `lease-N`/`exact-N`: N nodes sharing PostgreSQL and Redis, "
        "behind deploy/lb/nginx.conf; CPU and memory are the N nodes' together (not the balancer's, "
        "PostgreSQL's or Redis's).",
    ]
    headline: dict[str, object] = {
        name: {"rps": v.rps, "cpu_s_per_1k": v.cpu_s_per_1k} for name, v in s.items()
    }
    for name, v in s.items():
        nodes = int(name.rsplit("-", 1)[1]) if "-" in name else 1
        if v.peak_rss_mb is not None and name != "direct":
            headline[name]["rss_mb_per_node"] = v.peak_rss_mb / nodes  # type: ignore[index]
    settings = {"nodes": a.nodes, "aigw_workers": a.workers, "modes": a.modes}
    out = report(ctx, "cluster", result, headline, notes, settings)
    out.panels.append(
        Panel("peak memory per node", "MB", {
            n: v.peak_rss_mb / (int(n.rsplit("-", 1)[1]) if "-" in n else 1)
            for n, v in s.items() if v.peak_rss_mb is not None and n != "direct"
        })
    )  # fmt: skip
    return out


SCENARIO = Scenario(
    name="cluster",
    summary="1..N nodes behind nginx sharing limits through Redis (exact vs lease) vs one node alone",
    add_arguments=add_arguments,
    run=run,
)
