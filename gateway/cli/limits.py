"""`aigw limits list|set`: the rate limits of tenants, apps, consumer keys, model groups and
services in the store (every worker of a running node applies a change within 1 s)."""

from __future__ import annotations

import argparse
import sys
from contextlib import closing
from typing import Any

from ..config.schema import PERIOD_SECONDS
from ..store.records import LimitRule
from .context import Context, common_options
from .output import emit, output_option

SCOPES = ("tenant", "app", "key", "model", "service")
_SUBJECT = "tenant name, tenant/app, consumer key id, model group or service"


def add_limits_parser(sub: Any) -> None:
    group = sub.add_parser("limits", help="rate limits (requests or tokens per second … day)")
    actions = group.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="list rate limits")
    listing.add_argument("--scope", choices=SCOPES)
    listing.add_argument("--subject", help=_SUBJECT)
    listing.set_defaults(run=run_limits, covers=("GET /admin/limits",))
    setting = actions.add_parser(
        "set",
        help="replace the rate limits of a tenant, app, key, model group or service",
        description="Rules are KIND=AMOUNT/PER[,burst=N]: requests=600/minute, tokens=100000/minute, "
        "requests=10/second,burst=20. No rule removes every limit of the subject.",
    )
    setting.add_argument("scope", choices=SCOPES)
    setting.add_argument("subject", help=_SUBJECT)
    setting.add_argument("rules", nargs="*", metavar="KIND=AMOUNT/PER[,burst=N]")
    setting.set_defaults(run=run_limits, covers=("PUT /admin/limits/{scope}/{subject}",))
    for p in (listing, setting):
        common_options(p)
        output_option(p)


def parse_rule(text: str) -> LimitRule:
    """`requests=600/minute` or `tokens=1000/second,burst=5000` → a rule."""
    rule, _, extra = text.partition(",")
    kind, _, rest = rule.partition("=")
    amount, _, per = rest.partition("/")
    burst_name, _, burst = extra.partition("=")
    if kind not in ("requests", "tokens") or per not in PERIOD_SECONDS or (extra and burst_name != "burst"):
        raise ValueError(
            f"{text!r}: expected KIND=AMOUNT/PER[,burst=N] with KIND requests or tokens and PER "
            f"{', '.join(PERIOD_SECONDS)}"
        )
    try:
        numbers = int(amount), int(burst) if extra else None
    except ValueError:
        raise ValueError(f"{text!r}: amounts must be whole numbers") from None
    if numbers[0] < 1 or (numbers[1] is not None and numbers[1] < 1):
        raise ValueError(f"{text!r}: amounts must be above 0")
    return LimitRule(kind=kind, amount=numbers[0], period_s=PERIOD_SECONDS[per], burst=numbers[1])  # type: ignore[arg-type]


def run_limits(args: argparse.Namespace, ctx: Context) -> int:
    if args.action == "set" and args.scope == "model":
        groups = {g.name for g in ctx.config.model_groups}
        if args.subject not in groups:
            print(f"aigw: no model group {args.subject!r} in the config", file=sys.stderr)
            return 2
    try:
        rules = [parse_rule(r) for r in args.rules] if args.action == "set" else []
    except ValueError as exc:
        print(f"aigw: {exc}", file=sys.stderr)
        return 2
    with closing(ctx.open_store(writes=args.action == "set")) as store:
        if args.action == "set":
            records = store.set_limits(args.scope, args.subject, rules)
            print(f"{args.scope} {args.subject}: {len(records)} limit(s)", file=sys.stderr)
        else:
            records = store.list_limits(args.scope, args.subject)
    per = {seconds: name for name, seconds in PERIOD_SECONDS.items()}
    rows = [
        (str(r.id), r.scope, r.subject, f"{r.amount:,} {r.kind} per {per.get(r.period_s, f'{r.period_s}s')}",
         f"{r.burst:,}")
        for r in records
    ]  # fmt: skip
    emit(args.output, records, ("id", "scope", "subject", "limit", "burst"), rows)
    return 0
