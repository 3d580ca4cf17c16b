"""Several aigw nodes as one process tree, so the bench watches their CPU and memory together.

Usage: python -m bench.nodes CONFIG... — one `aigw serve` per config; each node's banner is printed
as it comes, then `nodes ready: N`; SIGTERM or SIGINT is passed on to every node (they drain),
and it exits once they all have."""

from __future__ import annotations

import signal
import subprocess
import sys
from types import FrameType

READY = "nodes ready: "


def main(configs: list[str]) -> int:
    nodes = [
        subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--config", config], stdout=subprocess.PIPE, text=True
        )
        for config in configs
    ]

    def forward(signum: int, frame: FrameType | None) -> None:
        for node in nodes:
            if node.poll() is None:
                node.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for node in nodes:
        assert node.stdout is not None
        print(node.stdout.readline(), end="", flush=True)
    print(f"{READY}{len(nodes)}", flush=True)
    return max(node.wait() for node in nodes)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
