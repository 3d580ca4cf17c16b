"""`soak`: a long run at a constant rate of mixed requests — plain, streamed, embeddings and
Anthropic Messages translated to the OpenAI provider, a few of them sent to a provider that answers
429, with hostile callers among them — sampling aigw's process tree all along: resident memory,
open descriptors, connections to callers and upstreams, call records waiting to be written and
errors. The rate is 80% of the highest the same mix was served at, measured first, unless given.
The verdict: nothing grows once warmed up, and no error happens but the ones provoked on purpose."""

from __future__ import annotations

import argparse
import math
import re
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from .. import aigw, mock
from ..capacity import highest_rate
from ..console import log
from ..growth import Check, Sample, verdict
from ..hostile import KINDS, HostileClients
from ..measure import MB, Target, with_loadgen
from ..payloads import CHAT_PATH, CHAT_REQUEST, MESSAGES_PATH, MODEL, STREAM_REQUEST
from ..procstat import fd_count, rss_bytes, tree
from ..report import Report, Series, Table, fmt_ms, fmt_number
from ..results import Measurement
from ..sockets import connections
from . import RunContext, Scenario
from .common import check_answers, is_chat_completion

EMBEDDINGS_PATH = "/v1/embeddings"
EMBEDDINGS_REQUEST = f'{{"model":"{MODEL}","input":"Hello!"}}'
# An Anthropic SDK's request to the OpenAI-served model group: translated both ways.
MESSAGES_REQUEST = f'{{"model":"{MODEL}","max_tokens":64,"messages":[{{"role":"user","content":"Hello!"}}]}}'


class Kind(NamedTuple):
    path: str
    body: str
    share: float  # of the rate
    anthropic: bool = False  # sent as Anthropic's SDK sends it (x-api-key, anthropic-version)


MIX = {
    "chat": Kind(CHAT_PATH, CHAT_REQUEST, 0.40),
    "stream": Kind(CHAT_PATH, STREAM_REQUEST, 0.20),
    "embeddings": Kind(EMBEDDINGS_PATH, EMBEDDINGS_REQUEST, 0.25),
    "messages": Kind(MESSAGES_PATH, MESSAGES_REQUEST, 0.15, anthropic=True),
}
STREAM_CHUNKS, CHUNK_INTERVAL_MS = 16, 20  # a streamed answer lasts about a third of a second
STREAM_S = STREAM_CHUNKS * CHUNK_INTERVAL_MS / 1000
# The capacity search: each rate is tried this long, and is served when every request went out on
# schedule and was answered 2xx, half of them within this much more than the answer itself takes
# (past the maximum, callers queue and the median waits grow without bound).
PROBE_S, PROBE_P50_MS, SHARE_OF_MAX = 8.0, 100.0, 0.8
# The second provider answers 429 past this many requests a second, and sends no x-ratelimit-*
# headers, so aigw learns of its limit only from the 429s (and their retry-after).
LIMITED_PER_S = 10
_ERROR_LINE = re.compile(r"\b(ERROR|CRITICAL)\b|Traceback")
_METRIC = re.compile(r"^(aigw_[a-z_]+)(?:\{([^}]*)\})? (\S+)$", re.M)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--rate",
        type=float,
        default=0,
        help="requests a second, all kinds (default 0: 80%% of the highest rate the mix is served at, "
        "measured first)",
    )
    p.add_argument("--hostile-rate", type=float, default=2, help="hostile callers a second (default 2)")
    p.add_argument(
        "--sample-interval", type=float, help="seconds between samples (default: duration/360, 0.5 to 5)"
    )
    p.add_argument(
        "--max-rss-growth", type=float, default=0.05, help="RSS growth allowed after warm-up (default 0.05)"
    )
    p.add_argument("--workers", type=int, default=1, help="aigw worker processes (default 1)")


@dataclass
class Metrics:
    """What the soak reads from aigw's /metrics (counters since start)."""

    calllog_buffered: int = 0
    calllog_dropped: int = 0
    upstream_429s: int = 0
    statuses: dict[str, int] = field(default_factory=dict)  # aigw's answers by HTTP status


def parse_metrics(text: str) -> Metrics:
    m = Metrics()
    for name, labels, value in _METRIC.findall(text):
        n = round(float(value))
        if name == "aigw_calllog_buffered":
            m.calllog_buffered += n
        elif name == "aigw_calllog_dropped_total":
            m.calllog_dropped += n
        elif name == "aigw_upstream_retries_total" and 'outcome="rate_limited"' in labels:
            m.upstream_429s += n
        elif name == "aigw_requests_total":
            status = re.search(r'status="(\d+)"', labels)
            if status:
                m.statuses[status.group(1)] = m.statuses.get(status.group(1), 0) + n
    return m


def read_metrics(gw: aigw.Aigw) -> Metrics:
    with urllib.request.urlopen(f"{gw.admin_url}/metrics", timeout=10) as resp:
        return parse_metrics(resp.read().decode())


def connections_for(kind: str, rate: float, least: int) -> int:
    """Enough connections for a kind's requests in flight: a stream holds its connection for
    STREAM_S, and room is left for twice that."""
    held_s = 2 * STREAM_S if kind == "stream" else 0.0
    return max(least, math.ceil(rate * MIX[kind].share * held_s))


class Loads:
    """One constant-rate loadgen per kind of request, each on its own thread."""

    def __init__(self, ctx: RunContext, gw: aigw.Aigw, body_dir: Path, rate: float, duration: float) -> None:
        self.failures: Counter[str] = Counter()  # non-2xx and socket errors so far, by kind
        self.results: dict[str, Measurement] = {}
        self.crashed: list[str] = []
        self._threads: list[threading.Thread] = []
        for kind, (path, body, share, anthropic) in MIX.items():
            body_file = body_dir / f"{kind}.json"
            body_file.write_text(body)
            if anthropic:
                headers = {"Content-Type": "application/json", "x-api-key": gw.key}
                headers["anthropic-version"] = "2023-06-01"
            else:
                headers = {"Content-Type": "application/json", "Authorization": f"Bearer {gw.key}"}
            target = Target(kind, f"{gw.url}{path}", None, headers=headers)
            conns = connections_for(kind, rate, ctx.args.connections)
            args = (kind, target, body_file, conns, duration, rate * share, ctx.load_cores)
            self._threads.append(threading.Thread(target=self._run, args=args, name=f"load-{kind}"))

    def _run(
        self, kind: str, target: Target, body: Path, conns: int, duration: float, rate: float, cores: str
    ) -> None:
        def progress(doc: dict[str, Any]) -> None:
            self.failures[kind] = int(doc["non2xx"]) + int(doc["errors"])

        try:
            m = with_loadgen(target, body, conns, duration, rate, cores, on_progress=progress)
        except RuntimeError as exc:
            self.crashed.append(f"{kind}: {exc}")
            return
        self.results[kind] = m
        self.failures[kind] = m.non2xx + m.errors

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def join(self) -> None:
        for t in self._threads:
            t.join()

    def served(self) -> str:
        """Empty when every request went out on schedule, was answered 2xx and the median wait
        stayed within PROBE_P50_MS of the answer's own length; else why not."""
        if self.crashed:
            return "; ".join(self.crashed)
        for kind, m in self.results.items():
            p50 = m.latency_ms.get("p50", math.inf)
            bound = PROBE_P50_MS + (STREAM_S * 1000 if kind == "stream" else 0)
            if m.unsent or m.non2xx or m.errors or p50 > bound:
                return (
                    f"{kind}: {m.unsent} unsent, {m.non2xx} non-2xx, {m.errors} socket errors, "
                    f"p50 {p50:.0f} ms (bound {bound:.0f})"
                )
        return ""


def measure_capacity(ctx: RunContext, gw: aigw.Aigw, body_dir: Path) -> float:
    """The highest rate of the mix aigw serves (`Loads.served`), each rate tried for PROBE_S."""

    def served(rate: float) -> bool:
        loads = Loads(ctx, gw, body_dir, rate, PROBE_S)
        loads.start()
        loads.join()
        why = loads.served()
        log(f"capacity: {rate:,.0f} req/s {'served' if not why else 'not served: ' + why}")
        return not why

    return highest_rate(served, start=200)


def sample_interval(a: argparse.Namespace) -> float:
    return float(a.sample_interval or min(5.0, max(0.5, a.duration / 360)))


def run(ctx: RunContext) -> Report:
    a = ctx.args
    if a.warmup >= a.duration:
        raise ValueError("--warmup must be shorter than --duration: the samples after it are judged")
    log(f"starting two mock providers, one refusing past {LIMITED_PER_S} requests a second, and aigw")
    free_url, _ = mock.start(ctx.procs, ctx.load_cores, STREAM_CHUNKS, CHUNK_INTERVAL_MS, a.aigw_src)
    limited_url, _ = mock.start(
        ctx.procs, ctx.load_cores, STREAM_CHUNKS, CHUNK_INTERVAL_MS, a.aigw_src, name="mock-limited",
        options=["--rpm", str(LIMITED_PER_S), "--window-s", "1", "--no-limit-headers"],
    )  # fmt: skip
    gw = aigw.start(
        ctx.procs, ctx.run_dir / "aigw", f"{free_url}/v1", ctx.aigw_cores, a.workers, a.aigw_src,
        limits=not a.no_limits, more_providers=[("limited", f"{limited_url}/v1")],
    )  # fmt: skip
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {gw.key}"}
    check_answers(
        Target("aigw", f"{gw.url}{CHAT_PATH}", None, headers=headers),
        CHAT_REQUEST.encode(),
        is_chat_completion,
    )
    server_port = int(gw.url.rsplit(":", 1)[1])
    upstream_ports = {int(u.rsplit(":", 1)[1]) for u in (free_url, limited_url)}
    interval = sample_interval(a)
    with tempfile.TemporaryDirectory(prefix="aigw-soak-") as tmp:
        measured_max = measure_capacity(ctx, gw, Path(tmp)) if not a.rate else None
    rate = a.rate or SHARE_OF_MAX * (measured_max or 0)
    log(
        f"{rate:,.0f} req/s ({', '.join(f'{k} {v.share:.0%}' for k, v in MIX.items())}) and "
        f"{a.hostile_rate:g} hostile callers a second for {a.duration:g}s, sampled every {interval:g}s; "
        f"judged after a {a.warmup:g}s warm-up"
    )
    samples: list[Sample] = []
    with tempfile.TemporaryDirectory(prefix="aigw-soak-") as tmp:
        loads = Loads(ctx, gw, Path(tmp), rate, a.duration)
        hostile = HostileClients("127.0.0.1", server_port, gw.key, a.hostile_rate)
        t0 = time.monotonic()
        loads.start()
        hostile.start()

        def unexpected_errors(metrics: Metrics | None = None) -> int:
            return (
                sum(loads.failures.values())
                + len(loads.crashed)
                + len(hostile.unexpected)
                + (metrics or read_metrics(gw)).calllog_dropped
                + gw.child.count_lines(lambda line: _ERROR_LINE.search(line) is not None)
            )

        def take() -> Sample:
            pids = tree(gw.child.pid)
            metrics = read_metrics(gw)
            conns = connections(pids, server_port, upstream_ports)
            errors = unexpected_errors(metrics)
            return Sample(
                t_s=round(time.monotonic() - t0, 2),
                rss_mb=round(rss_bytes(pids) / MB, 2),
                fds=fd_count(pids),
                callers=conns["callers"],
                upstreams=conns["upstreams"],
                calllog_buffered=metrics.calllog_buffered,
                errors=errors,
                provoked=hostile.provoked,
            )

        try:
            next_at = t0
            while loads.running():
                samples.append(take())
                last = samples[-1]
                if len(samples) % max(1, round(60 / interval)) == 0:
                    log(
                        f"{last.t_s / 60:5.1f} min  RSS {last.rss_mb:.1f} MB  fds {last.fds}  "
                        f"callers {last.callers}  upstreams {last.upstreams}  errors {last.errors}  "
                        f"provoked {last.provoked}"
                    )
                next_at += interval
                time.sleep(max(0.0, next_at - time.monotonic()))  # the sampling period
        finally:
            hostile.stop()
            loads.join()
        errors = unexpected_errors()
    return build_report(ctx, samples, errors, loads, hostile, read_metrics(gw), interval, rate, measured_max)


def build_report(
    ctx: RunContext,
    samples: list[Sample],
    errors: int,
    loads: Loads,
    hostile: HostileClients,
    metrics: Metrics,
    interval: float,
    rate: float,
    measured_max: float | None,
) -> Report:
    a = ctx.args
    checks = verdict(samples, a.warmup, a.max_rss_growth, errors)
    passed = all(c.passed for c in checks)
    flags = [f"{c.name}: {c.detail}" for c in checks if not c.passed]
    flags += [f"load {crash}" for crash in loads.crashed]
    flags += [
        f"{k}: {m.unsent} requests could not be sent on schedule"
        for k, m in loads.results.items()
        if m.unsent
    ]
    flags += [f"hostile {problem}" for problem in hostile.unexpected[:10]]
    load_rows = [
        [
            kind,
            fmt_number(m.rate_target),
            fmt_number(m.requests),
            fmt_ms(m.latency_ms.get("p50")),
            fmt_ms(m.latency_ms.get("p99")),
            fmt_number(m.non2xx),
            fmt_number(m.errors),
        ]
        for kind, m in loads.results.items()
    ]
    statuses = dict(sorted(metrics.statuses.items()))
    of_max = ""
    if measured_max:
        of_max = f", {SHARE_OF_MAX:.0%} of the {measured_max:,.0f} req/s the mix was served at"
    notes = [
        f"rate: {rate:,.0f} req/s{of_max}",
        f"verdict: {'PASS' if passed else 'FAIL'} — " + "; ".join(c.detail for c in checks),
        f"{metrics.upstream_429s:,} upstream 429s from the limited provider were retried on the other one.",
        f"hostile callers: {', '.join(f'{k} {hostile.done[k]:,}' for k in KINDS)}; "
        f"{len(hostile.unexpected)} got an answer they should not have.",
        "aigw's answers by status (its /metrics): " + ", ".join(f"{k}: {v:,}" for k, v in statuses.items()),
    ]
    t = [s.t_s for s in samples]
    mark = a.warmup

    def line(key: str) -> list[float]:
        return [float(getattr(s, key)) for s in samples]

    return Report(
        scenario="soak",
        header=ctx.header,
        settings={
            "duration_s": a.duration,
            "warmup_s": a.warmup,
            "rate": rate,
            "measured_max": measured_max,
            "mix": {k: v.share for k, v in MIX.items()},
            "hostile_rate": a.hostile_rate,
            "connections": {k: connections_for(k, rate, a.connections) for k in MIX},
            "sample_interval_s": interval,
            "max_rss_growth": a.max_rss_growth,
            "limited_provider_per_s": LIMITED_PER_S,
            "aigw_workers": a.workers,
        },
        data={
            "verdict": {"passed": passed, "checks": [asdict(c) for c in checks]},
            "loads": {k: asdict(m) for k, m in loads.results.items()},
            "hostile": {"done": dict(hostile.done), "unexpected": hostile.unexpected},
            "upstream_429s": metrics.upstream_429s,
            "statuses": statuses,
            "samples": [asdict(s) for s in samples],
        },
        tables=[
            Table("verdict", ["check", "result", "detail"], [[c.name, _word(c), c.detail] for c in checks]),
            Table(
                f"constant-rate load, {a.duration:g}s",
                ["kind", "req/s", "requests", "p50 ms", "p99 ms", "non-2xx", "socket errors"],
                load_rows,
            ),
        ],
        panels=[
            Series("aigw RSS (process tree)", "MB", t, {"aigw": line("rss_mb")}, mark),
            Series("open file descriptors", "count", t, {"aigw": line("fds")}, mark),
            Series(
                "connections", "count", t, {"callers": line("callers"), "upstreams": line("upstreams")}, mark
            ),
            Series("call records waiting", "count", t, {"aigw": line("calllog_buffered")}, mark),
            Series(
                "errors (cumulative)",
                "count",
                t,
                {"unexpected": line("errors"), "provoked": line("provoked")},
                mark,
            ),
        ],
        flags=flags,
        notes=notes,
    )


def _word(check: Check) -> str:
    return "pass" if check.passed else "FAIL"


SCENARIO = Scenario(
    name="soak",
    summary="a long fixed-rate mixed load with hostile callers and upstream 429s: nothing may grow",
    add_arguments=add_arguments,
    run=run,
    defaults={"duration": 1800, "warmup": 300, "connections": 64},
)
