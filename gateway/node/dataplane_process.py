"""The data-plane process: granian with the RSGI interface, uvloop and N worker processes.

Started by the supervisor (`aigw serve`) as a child process, so granian owns this process's
signals while the supervisor keeps its own event loop for the admin listener.
Usage: python -m gateway.node.dataplane_process HOST PORT WORKERS KILL_TIMEOUT_S
(the rest of `server:` comes from the config the supervisor published, as the workers read it).
"""

from __future__ import annotations

import os
import sys

from granian import Granian
from granian.constants import HTTPModes, Interfaces, Loops
from granian.http import HTTP1Settings
from granian.log import LogLevels

from ..config import published
from ..config.schema import ServerConfig
from ..telemetry.logs import granian_dictconfig


def http1_settings(server: ServerConfig) -> HTTP1Settings:
    """The client limits granian (hyper) enforces itself; the worker enforces the rest
    (gateway/dataplane/body.py). hyper has one timer for a connection waiting for a request head,
    new, kept alive or midway through its headers: the shortest of the three timeouts."""
    waiting = [server.header_timeout_s, server.idle_timeout_s]
    if server.keepalive_timeout_s > 0:
        waiting.append(server.keepalive_timeout_s)
    return HTTP1Settings(
        header_read_timeout=max(1, round(min(waiting) * 1000)),  # milliseconds
        keep_alive=server.keepalive_timeout_s > 0,
        # hyper's read buffer: a head that does not fit is answered 431.
        max_buffer_size=server.max_header_bytes,
    )


def main(argv: list[str]) -> None:
    host, port, workers, kill_timeout = argv[0], int(argv[1]), int(argv[2]), float(argv[3])
    # The config the supervisor published (its client limits need a restart: they are granian's).
    cfg = published.read(os.environ[published.ENV]).config()
    server, logging = cfg.server, cfg.logging
    Granian(
        "gateway.dataplane.app:app",
        address=host,
        port=port,
        interface=Interfaces.RSGI,
        loop=Loops.uvloop,
        workers=workers,
        backlog=2048,
        # HTTP/1.1 only: the automatic mode reads a new connection's first bytes (to tell HTTP/2's
        # preface) with no timeout, so a connection that never sends one would never be closed.
        http=HTTPModes.http1,
        http1_settings=http1_settings(server),
        websockets=False,
        # SIGTERM: workers stop accepting and finish in-flight requests (streams included) for up
        # to this long before they are killed.
        workers_kill_timeout=max(1, round(kill_timeout)),
        log_level=LogLevels.warning,
        # granian's own lines in aigw's format, on stderr (stdout is the access log's).
        log_dictconfig=granian_dictconfig(logging),
        # A worker that dies (OOM, SIGKILL) is replaced; the supervisor frees its in-flight row.
        respawn_failed_workers=True,
        respawn_interval=0.5,
    ).serve()


if __name__ == "__main__":
    main(sys.argv[1:])
