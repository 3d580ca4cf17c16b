"""The closed-loop comparison that `passthrough` (its first phase), `translate`, `limits` and
`exhaustion` share: their targets
(each with its own wrk script) are checked with one request, warmed up, then loaded in turn,
`--repeat` times interleaved, and summarized in one table, one req/s panel and one CPU panel,
with the scenario's own headline and notes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from .. import nginx, wrk
from ..aigw import Aigw
from ..console import log
from ..install import ensure_command
from ..measure import Target, closed_loop
from ..payloads import CHAT_PATH, CHAT_REQUEST
from ..procs import Child, free_port
from ..report import Panel, Report
from ..results import Summary, add_baseline
from . import RunContext
from .common import check_answers, interleaved, load_settings, summaries, summary_table


@dataclass
class Loaded:
    target: Target
    script: str  # wrk Lua: method, headers, body (and, for many consumers, the key rotation)
    body: bytes  # the request the check sends before any load
    expect: Callable[[bytes], bool]  # what a good answer to it looks like


def chat_upstream(ctx: RunContext, workers: int = 1) -> tuple[int, Child]:
    """The fast upstream on the load cores (nginx answering a fixed chat completion, from
    `workers` processes); its port and its process."""
    port = free_port()
    log("starting the upstream (nginx, fixed chat completion)")
    directory = ctx.run_dir / "upstream"
    config = nginx.upstream_config(directory, port, workers=workers)
    return port, nginx.start(ctx.procs, "upstream", directory, config, port, ctx.load_cores)


def aigw_target(name: str, gw: Aigw) -> Target:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {gw.key}"}
    return Target(name, f"{gw.url}{CHAT_PATH}", gw.child.pid, headers=headers)


def chat(target: Target, expect: Callable[[bytes], bool], script: str | None = None) -> Loaded:
    """`target` loaded with the OpenAI chat request (and its headers; `script` to vary them)."""
    script = script or wrk.script(target.method, target.headers, CHAT_REQUEST)
    return Loaded(target, script, CHAT_REQUEST.encode(), expect)


@dataclass
class Comparison:
    runs: dict[str, list[Any]]
    summary: dict[str, Summary]


def compare(
    ctx: RunContext,
    loaded: Sequence[Loaded],
    threads: int = 1,
    watch: Callable[[Target], AbstractContextManager[object]] | None = None,
) -> Comparison:
    """`threads`: wrk's (one per load core keeps a fast target from waiting on the load);
    `watch(target)`: entered around each measured run (not the warm-up), for what a scenario
    measures besides."""
    a = ctx.args
    wrk_path = ensure_command("wrk", "wrk", "closed-loop load generator")
    scripts = {}
    for item in loaded:
        check_answers(item.target, item.body, item.expect)
        scripts[item.target.name] = ctx.run_dir / f"request-{item.target.name}.lua"
        scripts[item.target.name].write_text(item.script)
    targets = [item.target for item in loaded]

    def closed(target: Target, duration: float) -> Any:
        return closed_loop(
            wrk_path, target, scripts[target.name], a.connections, duration, ctx.load_cores, threads
        )

    def measured(target: Target) -> Any:
        with watch(target) if watch is not None else nullcontext():
            return closed(target, a.duration)

    if a.warmup > 0:
        log(f"warming up each target for {a.warmup:g}s")
        for target in targets:
            closed(target, a.warmup)
    log(f"closed loop: wrk, {a.connections} connections, {a.duration:g}s, {a.repeat} repeat(s)")
    runs = interleaved(targets, a.repeat, measured)
    summary = summaries(runs)
    add_baseline(list(summary.values()))
    return Comparison(runs, summary)


def report(
    ctx: RunContext,
    scenario: str,
    result: Comparison,
    headline: dict[str, Any],
    notes: list[str],
    settings: dict[str, Any] | None = None,
) -> Report:
    a = ctx.args
    summary = result.summary
    flags = [f"closed {s.target}: {f}" for s in summary.values() for f in s.flags]
    return Report(
        scenario=scenario,
        header=ctx.header,
        settings=load_settings(a, **(settings or {})),
        data={
            "headline": headline,
            "summary": {"closed": {n: s.to_json() for n, s in summary.items()}},
            "runs": {"closed": {n: [m.to_json() for m in ms] for n, ms in result.runs.items()}},
        },
        tables=[
            summary_table(
                f"Closed loop (wrk, {a.connections} connections, {a.duration:g}s, median of {a.repeat})",
                list(summary.values()),
            )
        ],
        panels=[
            Panel("max throughput, closed loop", "req/s", {n: s.rps for n, s in summary.items()}),
            Panel(
                "CPU seconds per 1,000 requests, closed loop",
                "CPU s",
                {n: s.cpu_s_per_1k for n, s in summary.items() if n != "direct"},
            ),
        ],
        flags=flags,
        notes=notes,
    )
