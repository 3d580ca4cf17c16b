"""One front worker process: `python -m gateway.front.worker`, its settings as JSON in
AIGW_FRONT (gateway/front/workers.py starts it).

It runs the app's RSGI hooks as granian does: `__rsgi_init__(loop)` before the loop runs,
`__rsgi__` per request, `__rsgi_del__(loop)` once the loop has stopped. It listens only once the
app is ready, so no connection waits in its queue while the app loads. SIGTERM or SIGINT drain
it (server.py) and it exits 0.
"""

from __future__ import annotations

import asyncio
import ctypes
import importlib
import logging
import os
import signal
import sys
from typing import Any

import uvloop

from .server import FrontServer
from .settings import FrontSettings

ENV = "AIGW_FRONT"
# The node's own log lines (gateway/cli/main.py), so one log reads alike from every process.
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
START_FAILED = 3  # the exit status of a worker that never served: not worth starting again

log = logging.getLogger("aigw.front")


def load_app(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def _die_with_parent() -> None:
    """Linux: SIGTERM this process when the process that started it dies, so no worker outlives
    its node (it drains as on any SIGTERM)."""
    if sys.platform == "linux":
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format=LOG_FORMAT)
    _die_with_parent()
    settings = FrontSettings.decode(os.environ[ENV])
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        # Resolving the listen address starts libuv's thread pool (DNS lookups, as for upstream
        # hosts) now, so its threads exist when the app's hook sets the policy of every thread
        # beside the loop's (server.batch_io_threads), as granian's do.
        loop.run_until_complete(loop.getaddrinfo(settings.host, settings.port))
        app = load_app(settings.app)
        init = getattr(app, "__rsgi_init__", None)
        if init is not None:
            init(loop)
        server = FrontServer(app, settings.limits, loop)
        loop.run_until_complete(server.listen(settings))
    except Exception:
        log.exception("the worker could not start")
        return START_FAILED
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.run_until_complete(stop.wait())
    loop.run_until_complete(server.drain())
    end = getattr(app, "__rsgi_del__", None)
    if end is not None:
        end(loop)
    loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
