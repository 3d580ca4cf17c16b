"""`aigw budgets`: list and set the budgets of tenants, apps and consumer keys in the store (a
running node applies a change within 1 s; `GET /admin/budgets` shows what each has used)."""

from __future__ import annotations

import argparse
import sys

from ..admission.rejections import budget_amount
from ..store import Store
from ..store.records import BudgetRule

_KINDS = {"requests": "requests", "tokens": "tokens", "cost": "cost"}
_PERIODS = ("day", "month", "lifetime")


def add_budgets_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    budgets = sub.add_parser("budgets", help="daily, monthly and lifetime budgets").add_subparsers(
        dest="action", required=True
    )
    listing = budgets.add_parser("list", help="list budgets")
    listing.add_argument("--scope", choices=("tenant", "app", "key"))
    listing.add_argument("--subject", help="tenant name, tenant/app or consumer key id")
    listing.add_argument("--config")
    setting = budgets.add_parser(
        "set",
        help="replace the budgets of a tenant, app or key",
        description="Rules are KIND=AMOUNT/PERIOD: requests=1000/day, tokens=2000000/month, "
        "cost=50/month (USD), requests=100/lifetime. No rule removes every budget of the subject.",
    )
    setting.add_argument("scope", choices=("tenant", "app", "key"))
    setting.add_argument("subject", help="tenant name, tenant/app or consumer key id")
    setting.add_argument("rules", nargs="*", metavar="KIND=AMOUNT/PERIOD")
    setting.add_argument("--config")


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


def run_budgets(args: argparse.Namespace, store: Store) -> int:
    if args.action == "set":
        try:
            rules = [parse_rule(r) for r in args.rules]
            records = store.set_budgets(args.scope, args.subject, rules)
        except ValueError as exc:
            print(f"aigw: {exc}", file=sys.stderr)
            return 2
        print(f"{args.scope} {args.subject}: {len(records)} budget(s)")
    else:
        records = store.list_budgets(args.scope, args.subject)
    for r in records:
        per = "in all (lifetime)" if r.period == "lifetime" else f"per {r.period}"
        print(f"{r.id}\t{r.scope}\t{r.subject}\t{budget_amount(r.kind, r.amount)} {per}")
    return 0
