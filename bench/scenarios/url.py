"""`url`: load-test any HTTP URL — your own aigw deployment with your key and payload — with a
live progress line. Closed loop by default (maximum throughput); `--rate R` holds R req/s and
measures latency from each request's intended send time.

    python -m bench url http://127.0.0.1:8080/v1/chat/completions \\
        -H "Authorization: Bearer $AIGW_KEY" -H "Content-Type: application/json" \\
        --body-file request.json --duration 30 --connections 32 --rate 500
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..console import end_progress, log, show_progress
from ..measure import Target, with_loadgen
from ..report import Panel, Report
from ..results import summarize
from . import RunContext, Scenario
from .common import summary_table


def _header(value: str) -> tuple[str, str]:
    name, sep, rest = value.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"not a header: {value!r} (expected 'Name: value')")
    return name.strip(), rest.strip()


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("url", help="http:// URL to load (https is not supported by the load generator)")
    p.add_argument("-X", "--method", help="HTTP method (default POST with --body-file, else GET)")
    p.add_argument(
        "-H", "--header", action="append", type=_header, default=[], help="'Name: value'; repeatable"
    )
    p.add_argument("--body-file", type=Path, help="request body, sent as is")
    p.add_argument(
        "--rate", type=float, default=0.0, help="constant req/s; 0 (default) = as fast as possible"
    )
    p.add_argument("--timeout", type=float, default=10.0, help="seconds before a request counts as timed out")
    p.add_argument(
        "--pid", type=int, help="a local process whose tree's CPU and RSS to report (e.g. aigw serve)"
    )


def run(ctx: RunContext) -> Report:
    a = ctx.args
    if a.body_file is not None and not a.body_file.is_file():
        raise ValueError(f"--body-file {a.body_file}: no such file")
    method = a.method or ("POST" if a.body_file else "GET")
    headers = dict(a.header)
    target = Target(a.url, a.url, a.pid, method=method, headers=headers)
    mode = f"{a.rate:,.0f} req/s constant rate" if a.rate else "closed loop (as fast as possible)"

    def once(duration: float, progress: bool) -> Any:
        def on_progress(p: dict[str, Any]) -> None:
            show_progress(p, duration)

        try:
            return with_loadgen(
                target,
                a.body_file,
                a.connections,
                duration,
                a.rate,
                ctx.load_cores,
                on_progress if progress else None,
            )
        finally:
            end_progress()

    if a.warmup > 0:
        log(f"warming up for {a.warmup:g}s")
        once(a.warmup, progress=False)
    runs = []
    for i in range(a.repeat):
        log(f"run {i + 1}/{a.repeat}: {method} {a.url}, {a.connections} connections, {mode}, {a.duration:g}s")
        m = once(a.duration, progress=True)
        runs.append(m)
        if m.flagged:
            log(f"FLAGGED: {'; '.join(m.flags)}")
    summary = summarize(runs)
    summary.target = "url"
    return Report(
        scenario="url",
        header=ctx.header,
        settings={
            "url": a.url,
            "method": method,
            "mode": mode,
            "connections": a.connections,
            "duration_s": a.duration,
            "repeat": a.repeat,
            "headers": ", ".join(headers),  # names only: values may be keys
        },
        data={"summary": summary.to_json(), "runs": [m.to_json() for m in runs]},
        tables=[summary_table(f"{method} {a.url} — {mode}, median of {a.repeat}", [summary])],
        panels=[Panel("latency percentiles", "ms", dict(summary.latency_ms))],
        flags=summary.flags,
    )


SCENARIO = Scenario(
    name="url",
    summary="load-test any http:// URL (your deployment, key and payload) with a live progress line",
    add_arguments=add_arguments,
    run=run,
    defaults={"repeat": 1, "warmup": 0.0, "connections": 16},
)
