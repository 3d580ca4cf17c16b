"""`passthrough`: OpenAI → OpenAI proxying of a small chat completion, aigw against nginx (the
reference reverse proxy, same cores) and against the upstream itself (direct).

1. Closed loop (wrk) for each target's maximum throughput — and for a second aigw with call
   logging and metrics off (`aigw-quiet`), so their cost is measured in the same run; with
   `--access-log`, an aigw writing a JSON access line per request (`aigw-access-log`); with
   `--tracing`, an aigw recording every request's spans and exporting them over OTLP
   (`aigw-tracing`); each against `aigw` (both off), same cores, same run; with
   `--against DIR`, also for another build of aigw (`aigw-against`), so two builds are compared
   in one run; with `--other-engine ENGINE`, also for aigw on that data-plane engine
   (`aigw-ENGINE`), so the two HTTP servers are compared in one run.
2. Constant rate (bench/loadgen) at a fraction (default 50%) of aigw's maximum, the same rate
   for every target, for latency free of coordinated omission; added latency = aigw - direct.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .. import aigw, nginx
from ..console import log
from ..measure import Target, with_loadgen
from ..payloads import CHAT_PATH, CHAT_REQUEST
from ..procs import free_port
from ..report import Panel, Report
from ..results import Summary, add_baseline, ratio
from . import RunContext, Scenario
from .common import interleaved, is_chat_completion, load_settings, summaries, summary_table
from .compare import chat, compare


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--rate-fraction",
        type=float,
        default=0.5,
        help="constant-rate phase at this fraction of aigw's closed-loop maximum (default 0.5)",
    )
    p.add_argument("--rate", type=float, help="constant-rate phase at exactly this many req/s instead")
    p.add_argument("--workers", type=int, default=1, help="aigw worker processes (default 1)")
    p.add_argument(
        "--access-log",
        action="store_true",
        help=f"also load an aigw with the JSON access log on (`{ACCESS_LOG}`, lines to a file)",
    )
    p.add_argument(
        "--tracing",
        action="store_true",
        help=f"also load an aigw tracing every request (`{TRACING}`, sample ratio 1, exported over "
        "OTLP to the upstream nginx, which answers 200)",
    )
    p.add_argument(
        "--engine",
        choices=ENGINES,
        default="",
        help="aigw's data-plane engine (`server.engine`; default: the config's default)",
    )
    p.add_argument(
        "--other-engine",
        choices=ENGINES,
        help="also load aigw on this engine in the same run, interleaved with the others, as "
        "`aigw-ENGINE` (closed loop): one HTTP server against the other",
    )
    p.add_argument(
        "--against",
        type=Path,
        metavar="DIR",
        help="also load another build of aigw from DIR (a checkout with its native core built, or a "
        "`pip install --target` dir) in the same run, interleaved with the others, as "
        f"`{AGAINST}`: one build against another",
    )


def start_targets(ctx: RunContext) -> list[Target]:
    """The fast upstream (load cores), nginx in front of it and aigw in front of it (aigw cores),
    and aigw with call logging and metrics off (the same cores; loaded only in its own turn)."""
    up_port, proxy_port = free_port(), free_port()
    up_dir, proxy_dir = ctx.run_dir / "upstream", ctx.run_dir / "nginx-proxy"
    log("starting the upstream (nginx, fixed chat completion), nginx as a proxy, and aigw")
    upstream = nginx.start(
        ctx.procs, "upstream", up_dir, nginx.upstream_config(up_dir, up_port), up_port, ctx.load_cores
    )
    proxy = nginx.start(
        ctx.procs,
        "nginx-proxy",
        proxy_dir,
        nginx.proxy_config(proxy_dir, proxy_port, up_port),
        proxy_port,
        ctx.aigw_cores,
    )
    gw = aigw.start(
        ctx.procs,
        ctx.run_dir / "aigw",
        f"http://127.0.0.1:{up_port}/v1",
        ctx.aigw_cores,
        ctx.args.workers,
        ctx.args.aigw_src,
        limits=not ctx.args.no_limits,
        engine=ctx.args.engine,
    )
    # Every target gets the same request, key included: nginx and the upstream ignore it.
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {gw.key}"}

    def another_aigw(name: str, src: Path | None, **options: Any) -> Target:
        """One more aigw in front of the same upstream on the same cores, with a key of its own."""
        started = aigw.start(
            ctx.procs,
            ctx.run_dir / name,
            f"http://127.0.0.1:{up_port}/v1",
            ctx.aigw_cores,
            ctx.args.workers,
            src,
            limits=not ctx.args.no_limits,
            name=name,
            **options,
        )
        own = {**headers, "Authorization": f"Bearer {started.key}"}
        return Target(name, f"{started.url}{CHAT_PATH}", started.child.pid, headers=own)

    targets = [
        Target("direct", f"http://127.0.0.1:{up_port}{CHAT_PATH}", upstream.pid, headers=headers),
        Target("nginx", f"http://127.0.0.1:{proxy_port}{CHAT_PATH}", proxy.pid, headers=headers),
        Target("aigw", f"{gw.url}{CHAT_PATH}", gw.child.pid, headers=headers),
        another_aigw(QUIET, ctx.args.aigw_src, observability=False, engine=ctx.args.engine),
    ]
    # The access log and tracing, each on in an aigw of its own; `aigw` has both off.
    if ctx.args.access_log:
        log_dir = ctx.run_dir / ACCESS_LOG
        log_dir.mkdir(parents=True, exist_ok=True)
        section = "logging: {format: json, access_log: on}\n"
        targets.append(
            another_aigw(
                ACCESS_LOG, ctx.args.aigw_src, extra_config=section, stdout_path=log_dir / "access.log"
            )
        )
    if ctx.args.tracing:
        # The exporter posts its batches to the upstream nginx, whose 200 it takes as accepted: the
        # spans' cost in aigw is measured, not a collector's.
        traces = f"http://127.0.0.1:{up_port}{CHAT_PATH}"
        section = f"tracing: {{otlp_endpoint: {traces}, sample_ratio: 1.0}}\n"
        targets.append(another_aigw(TRACING, ctx.args.aigw_src, extra_config=section))
    if ctx.args.against is not None:
        targets.append(another_aigw(AGAINST, ctx.args.against))
    if ctx.args.other_engine:
        name = f"aigw-{ctx.args.other_engine}"
        targets.append(another_aigw(name, ctx.args.aigw_src, engine=ctx.args.other_engine))
    return targets


QUIET = "aigw-quiet"  # aigw with call logging and metrics off
ACCESS_LOG = "aigw-access-log"  # aigw with the JSON access log on (--access-log)
TRACING = "aigw-tracing"  # aigw with every request traced and exported (--tracing)
AGAINST = "aigw-against"  # another build of aigw (--against)
ENGINES = ("granian", "native")  # server.engine
CLOSED_ONLY = (
    QUIET,
    ACCESS_LOG,
    TRACING,
    AGAINST,
    *(f"aigw-{e}" for e in ENGINES),
)  # loaded in the closed loop only


def run(ctx: RunContext) -> Report:
    a = ctx.args
    targets = start_targets(ctx)
    # Closed loop, as every comparison scenario: each target checked, warmed up, then loaded.
    closed = compare(ctx, [chat(t, is_chat_completion) for t in targets])
    closed_runs, closed_sum = closed.runs, closed.summary
    body_file = ctx.run_dir / "request.json"
    body_file.write_bytes(CHAT_REQUEST.encode())

    rate = a.rate or (closed_sum["aigw"].rps or 0) * a.rate_fraction
    open_runs: dict[str, list[Any]] = {}
    open_sum: dict[str, Summary] = {}
    notes = []
    if rate > 0:
        log(f"constant rate: {rate:,.0f} req/s (bench/loadgen), {a.connections} connections, {a.duration:g}s")
        open_runs = interleaved(
            [t for t in targets if t.name not in CLOSED_ONLY],
            a.repeat,
            lambda t: with_loadgen(t, body_file, a.connections, a.duration, rate, ctx.load_cores),
        )
        open_sum = summaries(open_runs)
    else:
        notes.append("constant-rate phase skipped: aigw's closed-loop run was flagged, so it has no rate")
    add_baseline([*closed_sum.values(), *open_sum.values()])
    return build_report(ctx, closed_runs, closed_sum, open_runs, open_sum, rate, notes)


def build_report(
    ctx: RunContext,
    closed_runs: dict[str, list[Any]],
    closed_sum: dict[str, Summary],
    open_runs: dict[str, list[Any]],
    open_sum: dict[str, Summary],
    rate: float,
    notes: list[str],
) -> Report:
    a = ctx.args
    vs_nginx = ratio(closed_sum.get("aigw"), closed_sum.get("nginx"))
    vs_direct = ratio(closed_sum.get("aigw"), closed_sum.get("direct"))
    aigw_open = open_sum.get("aigw")
    vs_quiet = ratio(closed_sum.get("aigw"), closed_sum.get(QUIET))
    against = closed_sum.get(AGAINST)
    headline = {
        "aigw_rps": closed_sum["aigw"].rps,
        "aigw_quiet_rps": closed_sum[QUIET].rps,
        "aigw_vs_quiet": vs_quiet,
        "nginx_rps": closed_sum["nginx"].rps,
        "direct_rps": closed_sum["direct"].rps,
        "aigw_vs_nginx": vs_nginx,
        "aigw_vs_direct": vs_direct,
        "constant_rate": rate or None,
        "aigw_added_p99_ms_at_constant_rate": (aigw_open.added_ms or {}).get("p99") if aigw_open else None,
    }
    for name, what in ((ACCESS_LOG, "the JSON access log"), (TRACING, "every request traced")):
        on = ratio(closed_sum.get(name), closed_sum.get("aigw"))
        if on is not None:
            headline[f"{name.replace('-', '_')}_vs_aigw"] = on
            notes.append(
                f"With {what}, aigw serves {on:.1%} of the req/s it serves with it off ({name} "
                "against aigw), same cores, same run."
            )
    if against is not None:
        vs_against = ratio(closed_sum.get("aigw"), against)
        against_vs_nginx = ratio(against, closed_sum.get("nginx"))
        headline.update(
            against_rps=against.rps,
            against_vs_nginx=against_vs_nginx,
            aigw_vs_against=vs_against,
            against_src=str(a.against),
        )
        if vs_against is not None and against_vs_nginx is not None:
            notes.append(
                f"The build under test serves {vs_against:.1%} of the req/s of the build from "
                f"{a.against} ({AGAINST}: {against_vs_nginx:.1%} of nginx), same cores, same run."
            )
    if a.other_engine:
        name = f"aigw-{a.other_engine}"
        on_engine = closed_sum.get(name)
        engine_vs_nginx = ratio(on_engine, closed_sum.get("nginx"))
        engine_vs_aigw = ratio(on_engine, closed_sum.get("aigw"))
        headline.update(
            other_engine=a.other_engine,
            other_engine_rps=on_engine.rps if on_engine else None,
            other_engine_vs_nginx=engine_vs_nginx,
            other_engine_vs_aigw=engine_vs_aigw,
        )
        if engine_vs_nginx is not None and engine_vs_aigw is not None:
            notes.append(
                f"On the {a.other_engine} engine ({name}) aigw reaches {engine_vs_nginx:.1%} of nginx's "
                f"req/s and {engine_vs_aigw:.1%} of aigw's on {a.engine or 'the default engine'}, same "
                "cores, same run."
            )
    if vs_nginx is not None:
        notes.insert(0, f"aigw reaches {vs_nginx:.1%} of nginx's req/s on the same core(s), same run.")
    if vs_quiet is not None:
        notes.insert(
            1,
            f"With call logging and metrics on, aigw serves {vs_quiet:.1%} of the req/s it serves with "
            f"them off ({QUIET}), same cores, same run.",
        )
    flags = [f"{s.mode} {s.target}: {f}" for s in (*closed_sum.values(), *open_sum.values()) for f in s.flags]
    tables = [
        summary_table(
            f"Closed loop (wrk, {a.connections} connections, {a.duration:g}s, median of {a.repeat})",
            list(closed_sum.values()),
        )
    ]
    panels = [Panel("max throughput, closed loop", "req/s", {n: s.rps for n, s in closed_sum.items()})]
    if open_sum:
        tables.append(
            summary_table(
                f"Constant rate {rate:,.0f} req/s (bench/loadgen, latency from intended send time, "
                f"median of {a.repeat})",
                list(open_sum.values()),
            )
        )
        panels.append(
            Panel(
                f"p99 latency at {rate:,.0f} req/s",
                "ms",
                {n: s.latency_ms.get("p99") for n, s in open_sum.items()},
            )
        )
    panels.append(
        Panel(
            "CPU seconds per 1,000 requests, closed loop",
            "CPU s",
            {n: s.cpu_s_per_1k for n, s in closed_sum.items() if n != "direct"},
        )
    )
    return Report(
        scenario="passthrough",
        header=ctx.header,
        settings=load_settings(a, aigw_workers=a.workers),
        data={
            "headline": headline,
            "summary": {
                "closed": {n: s.to_json() for n, s in closed_sum.items()},
                "open": {n: s.to_json() for n, s in open_sum.items()},
            },
            "runs": {
                "closed": {n: [m.to_json() for m in ms] for n, ms in closed_runs.items()},
                "open": {n: [m.to_json() for m in ms] for n, ms in open_runs.items()},
            },
        },
        tables=tables,
        panels=panels,
        flags=flags,
        notes=notes,
    )


SCENARIO = Scenario(
    name="passthrough",
    summary="OpenAI → OpenAI: aigw vs nginx vs direct; max throughput, then latency at constant rate",
    add_arguments=add_arguments,
    run=run,
)
