"""`exhaustion`: provider keys hitting 429 all through the run. The upstream answers OpenAI's
rate-limit 429 (limit used up, reset in `--reset-ms`) to two of aigw's four keys, every time:
aigw cools each until its reset, tries it again then, and moves every refused request to another
key at once. Callers must see no error at all; the report counts the upstream 429s aigw absorbed
(its `aigw_upstream_retries_total`) and compares req/s with the same four keys all healthy."""

from __future__ import annotations

import argparse
import re
import urllib.request

from .. import aigw, nginx
from ..console import log
from ..procs import free_port
from ..report import Report
from ..results import ratio
from . import RunContext, Scenario
from .common import is_chat_completion
from .compare import aigw_target, chat, compare, report

HEALTHY = ("sk-bench-fresh-1", "sk-bench-fresh-2")
EXHAUSTED = ("sk-bench-spent-1", "sk-bench-spent-2")
KEYS = aigw.Upstream(keys=HEALTHY + EXHAUSTED)
_RATE_LIMITED = re.compile(r'^aigw_upstream_retries_total\{[^}]*outcome="rate_limited"[^}]*\} (\S+)$', re.M)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--reset-ms", type=int, default=100, help="when an exhausted key's limit resets (default 100)"
    )
    p.add_argument("--workers", type=int, default=1, help="aigw worker processes (default 1)")


def upstream_429s(gw: aigw.Aigw) -> int:
    """The 429s aigw got from upstream and retried elsewhere, from its /metrics."""
    with urllib.request.urlopen(f"{gw.admin_url}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    return round(sum(float(v) for v in _RATE_LIMITED.findall(text)))


def run(ctx: RunContext) -> Report:
    a = ctx.args
    healthy_port, limiting_port = free_port(), free_port()
    log(f"starting two upstreams: one answering every key, one refusing {len(EXHAUSTED)} of 4 keys")
    nginx.start(
        ctx.procs, "upstream", ctx.run_dir / "upstream",
        nginx.upstream_config(ctx.run_dir / "upstream", healthy_port), healthy_port, ctx.load_cores,
    )  # fmt: skip
    limiting_dir = ctx.run_dir / "upstream-limiting"
    nginx.start(
        ctx.procs, "upstream-limiting", limiting_dir,
        nginx.rate_limiting_upstream_config(limiting_dir, limiting_port, EXHAUSTED, a.reset_ms),
        limiting_port, ctx.load_cores,
    )  # fmt: skip
    healthy = aigw.start(
        ctx.procs,
        ctx.run_dir / "aigw-healthy",
        f"http://127.0.0.1:{healthy_port}/v1",
        ctx.aigw_cores,
        a.workers,
        a.aigw_src,
        upstream=KEYS,
    )
    exhausting = aigw.start(
        ctx.procs,
        ctx.run_dir / "aigw-exhaustion",
        f"http://127.0.0.1:{limiting_port}/v1",
        ctx.aigw_cores,
        a.workers,
        a.aigw_src,
        upstream=KEYS,
    )
    result = compare(
        ctx,
        [
            chat(aigw_target("aigw-healthy", healthy), is_chat_completion),
            chat(aigw_target("aigw-exhaustion", exhausting), is_chat_completion),
        ],
    )
    s = result.summary
    absorbed = upstream_429s(exhausting)
    answered = sum(m.requests for m in result.runs["aigw-exhaustion"])
    vs = ratio(s.get("aigw-exhaustion"), s.get("aigw-healthy"))
    notes = [
        f"{absorbed:,} upstream 429s were retried on another key (warm-up included) while callers "
        f"got {answered:,} answers in the measured runs, {s['aigw-exhaustion'].non2xx} of them errors.",
    ]
    if vs is not None:
        notes.append(
            f"With 2 of its 4 keys refused every {a.reset_ms} ms, aigw serves {vs:.1%} of the req/s "
            "it serves with all 4 healthy, same cores, same run."
        )
    headline = {
        "exhaustion_rps": s["aigw-exhaustion"].rps,
        "healthy_rps": s["aigw-healthy"].rps,
        "exhaustion_vs_healthy": vs,
        "upstream_429s_retried": absorbed,
        "client_errors": s["aigw-exhaustion"].non2xx,
    }
    settings = {"aigw_workers": a.workers, "reset_ms": a.reset_ms}
    return report(ctx, "exhaustion", result, headline, notes, settings)


SCENARIO = Scenario(
    name="exhaustion",
    summary="2 of 4 provider keys answering 429 all through the run: retries invisible to callers",
    add_arguments=add_arguments,
    run=run,
)
