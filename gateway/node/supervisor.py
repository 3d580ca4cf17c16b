"""`aigw serve`: the main process of a node.

It checks the config, opens the store and seeds it, starts mock providers, the granian data
plane and the admin listener, then supervises: SIGHUP reloads the config file (gateway/node/
reload.py); SIGTERM/SIGINT drain the data plane (in-flight requests finish, up to
`server.shutdown_timeout_s`) and exit 0; a child that dies on its own brings the node down with
exit 1, so a process manager can restart it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
from aiohttp import web

from .._version import __version__
from ..admin.app import AdminAPI
from ..admin.propagation import Propagation
from ..admin.upstream_keys import UpstreamKeys
from ..calllog.backend import open_call_log
from ..calllog.budget_usage import seed_counters
from ..calllog.retention import prune_forever
from ..cluster import NODE_ENV
from ..cluster.membership import ClusterStatus, alone, node_id
from ..config import published
from ..config.seed import seed
from ..keypool.directory import KeyDirectory
from ..keypool.event_log import KeyEventLog
from ..keypool.events import watch_keys
from ..keypool.prober import run_prober
from ..metrics.node import node_metrics_dir
from ..metrics.worker import ENV as METRICS_ENV
from ..processes import remove_dead_scratch
from ..store import Store
from ..telemetry import logs
from ..telemetry.tracing import TracingUnavailable
from ..telemetry.tracing import check_available as check_tracing
from .children import Mocks, start_dataplane, stop_child
from .region import node_region
from .reload import NodeConfig, Reloader
from .startup import ADMIN, StartupError, check_ports, listen_error, open_node_store

log = logging.getLogger("aigw")


def _client_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


async def _wait_until_serving(
    url: str, proc: asyncio.subprocess.Process, region: Any, workers: int, timeout_s: float
) -> None:
    """Until the data plane answers and every worker has built its tables (each says so in its
    row of the region): a node that says it serves does so on every worker."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1)) as session:
        while True:
            if proc.returncode is not None:
                raise StartupError(
                    f"the data plane exited with status {proc.returncode} while starting (its own "
                    "messages are above)"
                )
            started = sum(1 for generation in region.loaded_generations() if generation > 0)
            try:
                async with session.get(url + "/health") as resp:
                    if resp.status == 200 and started >= workers:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            if asyncio.get_running_loop().time() > deadline:
                raise StartupError(
                    f"the data plane did not start serving within {timeout_s:g}s "
                    f"({started} of {workers} workers ready)"
                )
            await asyncio.sleep(0.05)


async def run_node(node: NodeConfig) -> int:
    cfg = node.cfg
    logs.configure(cfg.logging)
    if cfg.tracing.otlp_endpoint:
        try:
            check_tracing()
        except TracingUnavailable as exc:
            raise StartupError(str(exc)) from None
    workers = cfg.server.workers or os.cpu_count() or 1
    check_ports(cfg)
    store = open_node_store(cfg.store.url, cfg.store.path)
    try:
        seed(store, cfg)
        removed = remove_dead_scratch()
        if removed:
            log.info("removed %d shared-memory file(s) left by nodes that did not stop cleanly", removed)
        # Workers publish their metrics here; the admin listener aggregates them for /metrics.
        with node_metrics_dir() as metrics_dir:
            os.environ[METRICS_ENV] = metrics_dir
            async with node_region(cfg, workers) as region:
                # Budgets survive a restart: their counters start from what the call log holds.
                seeded = seed_counters(store, region, int(time.time()))
                if seeded:
                    log.info("seeded %d budget counter(s) from the call log", seeded)
                try:
                    return await _run(node, workers, store, region)
                finally:
                    Path(node.published_path).unlink(missing_ok=True)
    finally:
        store.close()


async def _run(node: NodeConfig, workers: int, store: Store, region: Any) -> int:
    cfg = node.cfg
    s = cfg.server
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    mocks = Mocks()
    dataplane: asyncio.subprocess.Process | None = None
    runner: web.AppRunner | None = None
    background: list[asyncio.Future[None]] = []
    # Every provider key, the config's and the store's; reading it now fails early on a data key
    # that cannot open the stored secrets.
    directory = KeyDirectory(cfg, store)
    directory.current()
    propagation = Propagation(store, region, s.reload_interval_s)
    node_name = node_id(s.port)
    admin_url = f"http://{_client_host(s.admin_host)}:{s.admin_port}"
    started = time.time()
    agent: Any = None
    if cfg.cluster.redis_url:
        from ..cluster.agent import ClusterAgent  # redis is loaded only where it is used

        # Before the workers start: they size their leases from what it writes in the region.
        agent = ClusterAgent(
            cfg, node_name, workers, admin_url, region, store, directory, propagation.loaded_generation
        )

    def cluster_status() -> ClusterStatus:
        if agent is not None:
            return agent.status()
        return alone(node_name, workers, admin_url, started, propagation.loaded_generation() or 0)

    try:
        urls, _ = await mocks.follow(cfg.providers)
        mocks.commit(urls, [], 0)
        # What the workers serve: the config as checked here, with the mocks' addresses.
        node.publish(msgspec.structs.replace(node.published, provider_urls=urls))
        env = {
            **os.environ,
            published.ENV: node.published_path,
            "AIGW_REGION": region.path,
            NODE_ENV: node_name,
        }
        if agent is not None:
            background.append(asyncio.ensure_future(agent.run()))
        background.append(asyncio.ensure_future(run_prober(region, directory, lambda: mocks.urls)))
        recent_events = KeyEventLog()  # the watcher's, read by the admin API
        background.append(asyncio.ensure_future(watch_keys(directory, region, recent_events)))
        if cfg.calllog.enabled:
            background.append(
                asyncio.ensure_future(prune_forever(open_call_log(store), cfg.calllog.retention))
            )
        dataplane = await start_dataplane(s.host, s.port, workers, s.shutdown_timeout_s, env)
        dataplane_url = f"http://{_client_host(s.host)}:{s.port}"
        await _wait_until_serving(dataplane_url, dataplane, region, workers, 60)

        token = os.environ.get("AIGW_ADMIN_TOKEN") or None
        keys = UpstreamKeys(directory, store, region, recent_events)
        reloader = Reloader(node, store, region, directory, mocks, propagation)
        admin = AdminAPI(
            store, token, dataplane_url, directory.group_names, keys, region, propagation, reloader.reload,
            cluster_status,
        )  # fmt: skip
        runner = web.AppRunner(admin.application(), access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, s.admin_host, s.admin_port).start()
        except OSError as exc:  # taken since check_ports looked
            raise listen_error(s.admin_host, s.admin_port, ADMIN, exc) from None
        # SIGHUP: reload the config file, as nginx does; the outcome is logged.
        loop.add_signal_handler(
            signal.SIGHUP, lambda: background.append(asyncio.ensure_future(reloader.on_signal()))
        )

        print(
            f"aigw {__version__} serving the OpenAI API on {dataplane_url}/v1 with {workers} worker(s); "
            f"admin on {admin_url}" + ("" if admin.token else " (admin API disabled: set AIGW_ADMIN_TOKEN)"),
            flush=True,
        )
        stopping = asyncio.ensure_future(stop.wait())
        died = asyncio.ensure_future(mocks.died.wait())
        exited = asyncio.ensure_future(dataplane.wait())
        await asyncio.wait([stopping, died, exited], return_when=asyncio.FIRST_COMPLETED)
        clean = stop.is_set()
        if not clean:
            log.error("a child process exited unexpectedly; shutting down")
        for task in (stopping, died, exited):
            task.cancel()
        if agent is not None:
            await agent.leave()  # the other nodes stop counting this one
        await _drain(dataplane, node.cfg.server.shutdown_timeout_s + 10)
        return 0 if clean else 1
    finally:
        loop.remove_signal_handler(signal.SIGHUP)
        if dataplane is not None:
            await stop_child(dataplane)
        await mocks.stop()
        for job in background:
            job.cancel()
        if runner is not None:
            await runner.cleanup()
        if agent is not None:
            await agent.close()


async def _drain(proc: asyncio.subprocess.Process, timeout_s: float) -> None:
    if proc.returncode is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), timeout_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
