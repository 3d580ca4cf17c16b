"""The front's worker processes: N of them on one port (SO_REUSEPORT), one event loop each.

A worker that dies (OOM, SIGKILL) is replaced; one that could not start at all stops the whole
front, since the next would fail the same way. SIGTERM/SIGINT drain every worker (each finishes
its requests in flight, streams included, within the shutdown timeout) and exit 0.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from typing import Any

import uvloop

from .settings import FrontSettings
from .worker import ENV, LOG_FORMAT, START_FAILED

log = logging.getLogger("aigw.front")

RESPAWN_DELAY_S = 0.5
KILL_GRACE_S = 5.0  # after the shutdown timeout, before a worker that has not exited is killed


def run(settings: FrontSettings, workers: int) -> int:
    logging.basicConfig(level=logging.WARNING, format=LOG_FORMAT)
    return uvloop.run(_supervise(settings, workers))


async def _start(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "gateway.front.worker", env=env)


async def _supervise(settings: FrontSettings, count: int) -> int:
    loop = asyncio.get_running_loop()
    stopping: asyncio.Future[None] = loop.create_future()

    def stop() -> None:
        if not stopping.done():
            stopping.set_result(None)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    env = {**os.environ, ENV: settings.encode()}
    workers = [await _start(env) for _ in range(count)]
    status = 0
    while not stopping.done():
        exits: list[asyncio.Future[Any]] = [asyncio.ensure_future(w.wait()) for w in workers]
        await asyncio.wait([stopping, *exits], return_when=asyncio.FIRST_COMPLETED)
        for task in exits:
            task.cancel()
        for i, worker in enumerate(workers):
            if stopping.done() or worker.returncode is None:
                continue
            if worker.returncode == START_FAILED:
                log.error("a front worker could not start (its messages are above); stopping")
                status = 1
                stop()
                continue
            code = worker.returncode
            log.warning("front worker %d exited with status %s; starting another", worker.pid, code)
            await asyncio.sleep(RESPAWN_DELAY_S)
            workers[i] = await _start(env)
    await _stop(workers, settings.limits.shutdown_timeout_s + KILL_GRACE_S)
    return status


async def _stop(workers: list[asyncio.subprocess.Process], timeout_s: float) -> None:
    live = [w for w in workers if w.returncode is None]
    for w in live:
        w.send_signal(signal.SIGTERM)
    if not live:
        return
    _, late = await asyncio.wait([asyncio.ensure_future(w.wait()) for w in live], timeout=timeout_s)
    for w in live:
        if w.returncode is None:
            log.warning("front worker %d did not drain in time; killing it", w.pid)
            w.kill()
    if late:
        await asyncio.wait(late)
