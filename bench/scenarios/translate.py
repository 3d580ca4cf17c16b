"""`translate`: OpenAI → Anthropic. Callers send OpenAI chat completions; aigw sends each to
Anthropic's Messages API (a fast upstream answering a fixed Messages response) and answers in
OpenAI's format. Compared in the same run with aigw passing the same request through to an
OpenAI upstream, so the difference is what translating both ways costs."""

from __future__ import annotations

import argparse
import json

from .. import aigw, nginx
from ..console import log
from ..measure import Target
from ..payloads import ANTHROPIC_MODEL, MESSAGES_HEADERS, MESSAGES_PATH, MESSAGES_RESPONSE
from ..procs import free_port
from ..report import Report
from ..results import ratio
from . import RunContext, Scenario
from .common import is_chat_completion
from .compare import aigw_target, chat, compare, report

ANTHROPIC = aigw.Upstream(type="anthropic", keys=("sk-ant-bench-upstream",), model=ANTHROPIC_MODEL)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workers", type=int, default=1, help="aigw worker processes (default 1)")


def _is_message(data: bytes) -> bool:
    try:
        return json.loads(data).get("type") == "message"
    except (ValueError, AttributeError):
        return False


def run(ctx: RunContext) -> Report:
    a = ctx.args
    openai_port, anthropic_port = free_port(), free_port()
    log("starting two upstreams (OpenAI and Anthropic, fixed answers) and aigw in front of each")
    nginx.start(
        ctx.procs,
        "upstream-openai",
        ctx.run_dir / "upstream-openai",
        nginx.upstream_config(ctx.run_dir / "upstream-openai", openai_port),
        openai_port,
        ctx.load_cores,
    )
    anthropic_dir = ctx.run_dir / "upstream-anthropic"
    nginx.start(
        ctx.procs,
        "upstream-anthropic",
        anthropic_dir,
        nginx.upstream_config(
            anthropic_dir, anthropic_port, MESSAGES_RESPONSE, MESSAGES_PATH, MESSAGES_HEADERS
        ),
        anthropic_port,
        ctx.load_cores,
    )
    passthrough = aigw.start(
        ctx.procs,
        ctx.run_dir / "aigw-passthrough",
        f"http://127.0.0.1:{openai_port}/v1",
        ctx.aigw_cores,
        a.workers,
        a.aigw_src,
    )
    translating = aigw.start(
        ctx.procs,
        ctx.run_dir / "aigw-translate",
        f"http://127.0.0.1:{anthropic_port}",  # as Anthropic's SDK takes it: /v1/messages is added
        ctx.aigw_cores,
        a.workers,
        a.aigw_src,
        upstream=ANTHROPIC,
    )
    # The Anthropic upstream on its own: it answers any body with its fixed message.
    direct = Target(
        "direct",
        f"http://127.0.0.1:{anthropic_port}{MESSAGES_PATH}",
        None,
        headers={"Content-Type": "application/json"},
    )
    loaded = [
        chat(direct, _is_message),
        chat(aigw_target("aigw-passthrough", passthrough), is_chat_completion),
        chat(aigw_target("aigw-translate", translating), is_chat_completion),
    ]
    result = compare(ctx, loaded)
    s = result.summary
    vs = ratio(s.get("aigw-translate"), s.get("aigw-passthrough"))
    notes = []
    if vs is not None:
        notes.append(
            f"Translating OpenAI → Anthropic → OpenAI, aigw serves {vs:.1%} of the req/s it serves "
            "passing OpenAI through, same cores, same run."
        )
    headline = {
        "translate_rps": s["aigw-translate"].rps,
        "passthrough_rps": s["aigw-passthrough"].rps,
        "translate_vs_passthrough": vs,
        "translate_cpu_s_per_1k": s["aigw-translate"].cpu_s_per_1k,
        "passthrough_cpu_s_per_1k": s["aigw-passthrough"].cpu_s_per_1k,
    }
    return report(ctx, "translate", result, headline, notes, {"aigw_workers": a.workers})


SCENARIO = Scenario(
    name="translate",
    summary="OpenAI → Anthropic: aigw translating both ways vs aigw passing OpenAI through",
    add_arguments=add_arguments,
    run=run,
)
