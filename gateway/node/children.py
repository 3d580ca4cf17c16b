"""Child processes of `aigw serve`: the mock providers and the granian data plane."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import Any

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
    # The node's stdout is the access log's (after the supervisor's one-line banner: nothing is
    # logged for the health checks that come before it); log lines, granian's too, go to stderr.
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.node.dataplane_process",
        host, str(port), str(workers), str(kill_timeout_s), env=env,
    )  # fmt: skip


class Mocks:
    """The mock providers (`type: mock`) the node runs, one process each, following its config:
    a reload starts the mocks of providers it adds (or whose keys or options it changes) and
    retires the ones it no longer needs once requests that may still use them have had time to
    finish. `died` is set when a mock exits without being retired."""

    def __init__(self) -> None:
        self.urls: dict[str, str] = {}
        self.died = asyncio.Event()
        self._running: dict[str, tuple[tuple[object, ...], asyncio.subprocess.Process]] = {}
        self._retired: set[asyncio.subprocess.Process] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._pending: list[tuple[str, tuple[object, ...], asyncio.subprocess.Process]] = []

    async def follow(
        self, providers: list[ProviderConfig]
    ) -> tuple[dict[str, str], list[asyncio.subprocess.Process]]:
        """Start what `providers` need that is not running. Returns every mock's URL as they would
        be with `providers` served, and the processes serving none of them (retire them once no
        request uses them); nothing changes until `commit`."""
        wanted = {p.name: p for p in providers if p.type == "mock"}
        urls: dict[str, str] = {}
        started: list[tuple[str, tuple[object, ...], asyncio.subprocess.Process]] = []
        try:
            for name, provider in wanted.items():
                spec = _spec(provider)
                running = self._running.get(name)
                if running is not None and running[0] == spec:
                    urls[name] = self.urls[name]
                    continue
                proc, urls[name] = await start_mock(provider)
                started.append((name, spec, proc))
        except BaseException:
            for _, _, proc in started:
                proc.terminate()
            raise
        self._pending = started
        unused = [
            proc
            for name, (spec, proc) in self._running.items()
            if name not in wanted or any(n == name for n, _, _ in started)
        ]
        return urls, unused

    def commit(self, urls: dict[str, str], unused: list[asyncio.subprocess.Process], grace_s: float) -> None:
        """The config `follow` prepared for is served: its mocks are the node's; the unused ones
        are stopped after `grace_s` (streams that started on them may still be running)."""
        unused_set = set(unused)
        self._running = {n: v for n, v in self._running.items() if v[1] not in unused_set}
        for name, spec, proc in self._pending:
            self._running[name] = (spec, proc)
            self._watch(proc)
        self._pending = []
        self.urls = urls
        for proc in unused:
            self._retired.add(proc)
            self._spawn(_stop_later(proc, grace_s))

    def abandon(self) -> None:
        """The config `follow` prepared for will not be served: stop the mocks it started."""
        for _, _, proc in self._pending:
            proc.terminate()
        self._pending = []

    def processes(self) -> list[asyncio.subprocess.Process]:
        return [proc for _, proc in self._running.values()]

    def _watch(self, proc: asyncio.subprocess.Process) -> None:
        async def watch() -> None:
            await proc.wait()
            if proc not in self._retired:
                self.died.set()

        self._spawn(watch())

    def _spawn(self, job: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        """Every mock the node runs or still keeps for in-flight requests."""
        for task in list(self._tasks):
            task.cancel()
        self._retired.update(proc for _, proc in self._running.values())
        for proc in self._retired:
            await stop_child(proc)


def _spec(provider: ProviderConfig) -> tuple[object, ...]:
    """What a mock process is started from: a change to any of it needs a new process."""
    return (provider.options, tuple((k.id, k.value) for k in provider.keys))


async def _stop_later(proc: asyncio.subprocess.Process, grace_s: float) -> None:
    await asyncio.sleep(grace_s)
    await stop_child(proc)


async def stop_child(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM, then SIGKILL after 10 s."""
    if proc.returncode is None:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()
