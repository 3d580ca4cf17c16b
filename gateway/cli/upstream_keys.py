"""`aigw upstream-keys`: the provider keys of the running node (admin API) — their state as its
workers see it, disabling and re-enabling one, and keys added, rotated and removed at runtime.

The secret of `add` and `rotate` is read with a hidden prompt, from stdin, a file or an
environment variable (gateway/cli/secrets.py), never from the command line.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from .context import Context, admin_options
from .output import document, emit, json_line, output_option, when
from .secrets import read_secret, secret_options

_KEY = "/admin/upstream-keys/{provider}/{key_id}"
_CHANGES = {
    "add": ("add a key to a provider (stored encrypted; every worker uses it within 1 s)", "POST",
            "/admin/upstream-keys/{provider}"),
    "rotate": ("give a key added at runtime a new secret under the same id", "PUT", _KEY),
    "remove": ("remove a key added at runtime", "DELETE", _KEY),
    "disable": ("stop using a key until it is enabled", "POST", _KEY + "/{action}"),
    "enable": ("use a disabled key again (healthy now, cooldown cleared)", "POST", _KEY + "/{action}"),
    "reset": ("forget a key's cooldown, exhaustion or refusal: healthy now", "POST", _KEY + "/{action}"),
}  # fmt: skip


def add_upstream_keys_parser(sub: Any) -> None:
    actions = sub.add_parser(
        "upstream-keys", help="provider keys on the running node: state; disable, enable, add, rotate, remove"
    ).add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="every provider key: state, cause, in flight, headroom, until")
    listing.set_defaults(run=run_list, covers=("GET /admin/upstream-keys",))
    admin_options(listing)
    output_option(listing)
    events = actions.add_parser("events", help="the node's recent key events, oldest first")
    events.add_argument("--after", type=int, default=0, help="only events numbered above this")
    events.add_argument("--follow", action="store_true", help="keep printing new events as they come")
    events.set_defaults(run=run_events, covers=("GET /admin/upstream-key-events",))
    admin_options(events)
    output_option(events)
    for action, (summary, method, path) in _CHANGES.items():
        p = actions.add_parser(action, help=summary)
        p.add_argument("provider")
        p.add_argument("key_id")
        if action in ("add", "rotate"):
            secret_options(p)
        p.set_defaults(run=run_change, covers=(f"{method} {path}",))
        admin_options(p)


def run_change(args: argparse.Namespace, ctx: Context) -> int:
    _, method, path = _CHANGES[args.action]
    body: dict[str, str] | None = None
    if args.action in ("add", "rotate"):
        secret = read_secret(args, f"secret of {args.provider}/{args.key_id}")
        body = {"key_id": args.key_id, "secret": secret} if args.action == "add" else {"secret": secret}
    answer = ctx.admin(
        method, path.format(provider=args.provider, key_id=args.key_id, action=args.action), body
    )
    if args.action in ("disable", "enable", "reset"):
        print(f"{args.provider}/{args.key_id}: {answer['state']}")
    else:
        done = {"add": "added", "rotate": "rotated", "remove": "removed"}[args.action]
        print(f"{done} {args.provider}/{args.key_id}")
    return 0


def run_list(args: argparse.Namespace, ctx: Context) -> int:
    keys = ctx.admin("GET", "/admin/upstream-keys")
    now = time.time()
    header = ("provider/key", "state", "cause", "in_flight", "requests_left", "tokens_left", "until")
    rows = []
    for k in keys:
        until = k["cooling_for_s"] if k["cooling_for_s"] is not None else k["next_probe_in_s"]
        rows.append(
            (
                f"{k['provider']}/{k['key_id']}",
                k["state"],
                k["cause"] or "-",
                str(k["in_flight"]),
                _left(k["remaining_requests"], k["limit_requests"]),
                _left(k["remaining_tokens"], k["limit_tokens"]),
                when(None if until is None else now + until),
            )
        )
    emit(args.output, keys, header, rows)
    return 0


def run_events(args: argparse.Namespace, ctx: Context) -> int:
    after = args.after
    while True:
        page = ctx.admin("GET", "/admin/upstream-key-events", query={"after": after, "limit": 1000})
        if page["missed"]:
            print("(older events were dropped: the node keeps its last 1,000)", file=sys.stderr)
        for e in page["events"]:
            print(_event(args.output, e), flush=True)
        after = page["last"]
        if not args.follow:
            print(f"(last event: {after}; --after {after} shows only newer ones)", file=sys.stderr)
            return 0
        time.sleep(1)  # the console polls as often


def _event(fmt: str, e: dict[str, Any]) -> str:
    """One event: a table line, a JSON line, or a YAML list item (so `--follow` streams them)."""
    if fmt == "json":
        return json_line(e)
    if fmt == "yaml":
        return document(fmt, [e])
    until = f" for {e['until_s']:g}s" if e["until_s"] is not None else ""
    return f"{when(e['at'])}  {e['event']:<9}  {e['provider']}/{e['key_id']}{until}"


def _left(remaining: int | None, limit: int | None) -> str:
    return "-" if remaining is None else f"{remaining}/{limit}"
