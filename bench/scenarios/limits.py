"""`limits`: many consumers (default 100,000 consumer keys), each request admitted through three
limits — its tenant's, its model group's and its own key's, so every consumer has a bucket of its
own in shared memory. wrk sends each request with the next key in turn. Compared in the same run
with aigw serving one consumer, so the difference is what 100,000 consumers cost admission."""

from __future__ import annotations

import argparse

from .. import aigw, wrk
from ..console import log
from ..payloads import CHAT_REQUEST
from ..report import Report
from ..results import ratio
from . import RunContext, Scenario
from .common import is_chat_completion
from .compare import aigw_target, chat, chat_upstream, compare, report


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--consumers", type=int, default=100_000, help="consumer keys (default 100,000)")
    p.add_argument("--workers", type=int, default=1, help="aigw worker processes (default 1)")


def run(ctx: RunContext) -> Report:
    a = ctx.args
    port, _ = chat_upstream(ctx)
    base_url = f"http://127.0.0.1:{port}/v1"
    one = aigw.start(ctx.procs, ctx.run_dir / "aigw-1", base_url, ctx.aigw_cores, a.workers, a.aigw_src)
    log(f"creating {a.consumers:,} consumer keys, each with its own limit (about 0.5 ms each)")
    many = aigw.start(
        ctx.procs,
        ctx.run_dir / "aigw-many",
        base_url,
        ctx.aigw_cores,
        a.workers,
        a.aigw_src,
        consumers=a.consumers,
    )
    assert many.consumer_keys is not None
    many_target = aigw_target("aigw-many", many)
    rotating = wrk.rotating_keys_script("POST", many_target.headers, CHAT_REQUEST, many.consumer_keys)
    result = compare(
        ctx,
        [
            chat(aigw_target("aigw-1", one), is_chat_completion),
            chat(many_target, is_chat_completion, rotating),
        ],
    )
    s = result.summary
    vs = ratio(s.get("aigw-many"), s.get("aigw-1"))
    notes = [
        "Three limits per request on both: tenant and model group, plus the app's (aigw-1) or the "
        f"key's own (aigw-many: {a.consumers:,} keys, one bucket each, taken in turn by wrk)."
    ]
    if vs is not None:
        notes.append(
            f"With {a.consumers:,} consumers aigw serves {vs:.1%} of the req/s it serves one, "
            "same cores, same run."
        )
    headline = {
        "consumers": a.consumers,
        "many_rps": s["aigw-many"].rps,
        "one_rps": s["aigw-1"].rps,
        "many_vs_one": vs,
        "many_cpu_s_per_1k": s["aigw-many"].cpu_s_per_1k,
        "one_cpu_s_per_1k": s["aigw-1"].cpu_s_per_1k,
    }
    settings = {"aigw_workers": a.workers, "consumers": a.consumers}
    return report(ctx, "limits", result, headline, notes, settings)


SCENARIO = Scenario(
    name="limits",
    summary="100,000 consumers, three limits per request (one bucket per key) vs one consumer",
    add_arguments=add_arguments,
    run=run,
)
