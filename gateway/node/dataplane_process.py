"""The data-plane process: the configured engine (`server.engine`) serving the data plane's RSGI
app with N workers.

Started by the supervisor (`aigw serve`) as a child process, so the engine owns this process's
signals while the supervisor keeps its own event loop for the admin listener.
Usage: python -m gateway.node.dataplane_process HOST PORT WORKERS KILL_TIMEOUT_S
(the rest of `server:` comes from the config the supervisor published, as the workers read it).

Each engine is one module exposing `serve(app, server, logging, workers) -> exit status`, named
here.
"""

from __future__ import annotations

import os
import sys

import msgspec

from ..config import published
from ..providers.registry import load

APP = "gateway.dataplane.app:app"
ENGINES = {
    "native": "gateway.node.native_engine:serve",
    "granian": "gateway.node.granian_engine:serve",
}


def main(argv: list[str]) -> int:
    host, port, workers, kill_timeout = argv[0], int(argv[1]), int(argv[2]), float(argv[3])
    # The config the supervisor published (the engine and its client limits need a restart).
    cfg = published.read(os.environ[published.ENV]).config()
    # The command line's overrides (aigw serve --host/--port) over the config's.
    server = msgspec.structs.replace(cfg.server, host=host, port=port, shutdown_timeout_s=kill_timeout)
    serve = load(ENGINES[server.engine])
    status: int = serve(APP, server, cfg.logging, workers)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
