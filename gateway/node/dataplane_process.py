"""The data-plane process: granian with the RSGI interface, uvloop and N worker processes.

Started by the supervisor (`aigw serve`) as a child process, so granian owns this process's
signals while the supervisor keeps its own event loop for the admin listener.
Usage: python -m gateway.node.dataplane_process HOST PORT WORKERS KILL_TIMEOUT_S
"""

from __future__ import annotations

import sys

from granian import Granian
from granian.constants import Interfaces, Loops
from granian.log import LogLevels


def main(argv: list[str]) -> None:
    host, port, workers, kill_timeout = argv[0], int(argv[1]), int(argv[2]), float(argv[3])
    Granian(
        "gateway.dataplane.app:app",
        address=host,
        port=port,
        interface=Interfaces.RSGI,
        loop=Loops.uvloop,
        workers=workers,
        backlog=2048,
        # SIGTERM: workers stop accepting and finish in-flight requests (streams included) for up
        # to this long before they are killed.
        workers_kill_timeout=max(1, round(kill_timeout)),
        log_level=LogLevels.warning,
        # A worker that dies (OOM, SIGKILL) is replaced; the supervisor frees its in-flight row.
        respawn_failed_workers=True,
        respawn_interval=0.5,
    ).serve()


if __name__ == "__main__":
    main(sys.argv[1:])
