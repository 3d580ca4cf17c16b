"""Child processes of `aigw serve`: the mock providers and the granian data plane."""

from __future__ import annotations

import asyncio
import sys

from ..config.schema import ProviderConfig
from .startup import StartupError

READY_LINE = "mock listening on "


async def start_mock(provider: ProviderConfig) -> tuple[asyncio.subprocess.Process, str]:
    """Start a mock provider and return it with its base URL (it picks a free port)."""
    opts = provider.options  # the `mock:` section
    args = [
        "--host", "127.0.0.1", "--port", "0",
        "--latency-ms", str(opts.latency_ms), "--rpm", str(opts.rpm), "--tpm", str(opts.tpm),
        "--window-s", str(opts.window_s), "--limiter", provider.limiter or "continuous",
        "--chunk-interval-ms", str(opts.chunk_interval_ms),
    ]  # fmt: skip
    for key in provider.keys:
        args += ["--key", f"{key.id}={key.value}"]
    for model in opts.models:
        args += ["--model", model]
    if opts.stream_chunks is not None:
        args += ["--stream-chunks", str(opts.stream_chunks)]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.mock", *args, stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), timeout=30)).decode()
    if not line.startswith(READY_LINE):
        proc.kill()
        raise StartupError(f"mock provider {provider.name!r} failed to start (its own messages are above)")
    return proc, line[len(READY_LINE) :].strip() + "/v1"


async def start_dataplane(
    host: str, port: int, workers: int, kill_timeout_s: float, env: dict[str, str]
) -> asyncio.subprocess.Process:
    # granian's own messages go to stderr: stdout carries only aigw's one-line banner.
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.node.dataplane_process",
        host, str(port), str(workers), str(kill_timeout_s), env=env, stdout=sys.stderr,
    )  # fmt: skip
