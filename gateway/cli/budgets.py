"""`aigw budgets`: list and set the budgets of tenants, apps and consumer keys in the store (a
running node applies a change within 1 s). The list shows what each subject used of its current
period, as the call log counts it (the node seeds its exact counters from the same at start)."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import msgspec

from ..admission import budgets
from ..admission.rejections import budget_amount
from ..calllog.backend import open_call_log
from ..calllog.budget_usage import used_in_period
from ..calllog.store import CallLog
from ..store.records import BudgetRecord, BudgetRule
from .context import Context, common_options
from .output import emit, output_option, when

_KINDS = {"requests": "requests", "tokens": "tokens", "cost": "cost"}
_PERIODS = ("day", "month", "lifetime")


def add_budgets_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = sub.add_parser("budgets", help="daily, monthly and lifetime budgets").add_subparsers(
        dest="action", required=True
    )
    listing = group.add_parser("list", help="list budgets: amount, used this period, when it resets")
    listing.add_argument("--scope", choices=("tenant", "app", "key"))
    listing.add_argument("--subject", help="tenant name, tenant/app or consumer key id")
    listing.set_defaults(run=run_budgets, covers=("GET /admin/budgets",))
    common_options(listing)
    output_option(listing)
    setting = group.add_parser(
        "set",
        help="replace the budgets of a tenant, app or key",
        description="Rules are KIND=AMOUNT/PERIOD: requests=1000/day, tokens=2000000/month, "
        "cost=50/month (USD), requests=100/lifetime. No rule removes every budget of the subject.",
    )
    setting.add_argument("scope", choices=("tenant", "app", "key"))
    setting.add_argument("subject", help="tenant name, tenant/app or consumer key id")
    setting.add_argument("rules", nargs="*", metavar="KIND=AMOUNT/PERIOD")
    setting.set_defaults(run=run_budgets, covers=("PUT /admin/budgets/{scope}/{subject}",))
    common_options(setting)
    output_option(setting)


def parse_rule(text: str) -> BudgetRule:
    """`tokens=1000000/day` → a rule; cost amounts are USD (stored in micro-USD)."""
    kind, _, rest = text.partition("=")
    amount, _, period = rest.partition("/")
    if kind not in _KINDS or period not in _PERIODS:
        raise ValueError(
            f"{text!r}: expected KIND=AMOUNT/PERIOD with KIND requests, tokens or cost and "
            "PERIOD day, month or lifetime"
        )
    try:
        value = round(float(amount) * 1_000_000) if kind == "cost" else int(amount)
    except ValueError:
        raise ValueError(f"{text!r}: {amount!r} is not a number") from None
    if value < 1:
        raise ValueError(f"{text!r}: the amount must be above 0")
    return BudgetRule(kind=kind, amount=value, period=period)  # type: ignore[arg-type]


def run_budgets(args: argparse.Namespace, ctx: Context) -> int:
    store = ctx.open_store(writes=args.action == "set")
    log = open_call_log(store)
    try:
        if args.action == "set":
            try:
                rules = [parse_rule(r) for r in args.rules]
                records = store.set_budgets(args.scope, args.subject, rules)
            except ValueError as exc:
                print(f"aigw: {exc}", file=sys.stderr)
                return 2
            print(f"{args.scope} {args.subject}: {len(records)} budget(s)", file=sys.stderr)
        else:
            records = store.list_budgets(args.scope, args.subject)
        now = int(time.time())
        states = [_state(log, r, now) for r in records]
        header = ("id", "scope", "subject", "budget", "used", "resets_at")
        emit(args.output, states, header, [_row(s) for s in states])
    finally:
        log.close()
        store.close()
    return 0


def _state(log: CallLog, r: BudgetRecord, now: int) -> dict[str, Any]:
    """The budget as `GET /admin/budgets` answers: amount and used in requests, tokens or micro-USD."""
    index = budgets.period_index(r.period, now)
    used = used_in_period(log, r, index)
    return msgspec.structs.asdict(r) | {"used": used, "resets_at": budgets.resets_at(r.period, index)}


def _row(s: dict[str, Any]) -> tuple[str, ...]:
    per = "in all (lifetime)" if s["period"] == "lifetime" else f"per {s['period']}"
    budget, used = budget_amount(s["kind"], s["amount"]), budget_amount(s["kind"], s["used"])
    return (str(s["id"]), s["scope"], s["subject"], f"{budget} {per}", used, when(s["resets_at"]))
