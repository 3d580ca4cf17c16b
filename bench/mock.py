"""The project's own mock OpenAI provider (python -m gateway.mock), started to record the stream
that bench/ssemock then paces."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from pathlib import Path

from .aigw import PROVIDER_KEY, gateway_env
from .procs import Child, Processes, pinned

_LISTENING = re.compile(r"mock listening on (http://\S+)")


def start(
    procs: Processes,
    cores: str | None,
    chunks: int,
    interval_ms: float,
    src: Path | None = None,
    name: str = "mock",
    options: Sequence[str] = (),
) -> tuple[str, Child]:
    """Start the mock pacing `chunks` SSE chunks `interval_ms` apart, with more of its command
    line `options` (its rate limit, say); returns its base URL."""
    argv = [
        sys.executable,
        "-m",
        "gateway.mock",
        "--port",
        "0",
        "--key",
        f"bench={PROVIDER_KEY}",
        "--stream-chunks",
        str(chunks),
        "--chunk-interval-ms",
        f"{interval_ms:g}",
        *options,
    ]
    child = procs.start(name, pinned(argv, cores), env=gateway_env(src))
    line = child.wait_for_line(lambda text: _LISTENING.search(text) is not None, timeout_s=30)
    match = _LISTENING.search(line)
    assert match is not None
    return match.group(1), child
