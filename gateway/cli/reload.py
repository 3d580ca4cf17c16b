"""`aigw reload` and `aigw config diff`: the running node reads its config file again — serving it
from every worker's next request, or only saying what would change (admin API,
POST /admin/config/reload). A refused file is reported with every problem, and the node keeps
serving the config it has."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .admin_client import AdminCallFailed
from .context import Context, admin_options
from .output import document, output_option

_OPERATION = ("POST /admin/config/reload",)


def add_reload_parsers(sub: Any, config: Any) -> None:
    p = sub.add_parser(
        "reload", help="reload the running node's config file without a restart (SIGHUP does the same)"
    )
    p.set_defaults(run=run_reload, covers=_OPERATION, dry_run=False)
    admin_options(p)
    output_option(p)
    diff = config.add_parser("diff", help="what `aigw reload` would change on the running node")
    diff.set_defaults(run=run_reload, covers=_OPERATION, dry_run=True)
    admin_options(diff)
    output_option(diff)


def run_reload(args: argparse.Namespace, ctx: Context) -> int:
    try:
        done = ctx.admin("POST", "/admin/config/reload", query={"dry_run": "true" if args.dry_run else None})
    except AdminCallFailed as exc:
        if not (isinstance(exc.body, dict) and "problems" in exc.body):
            raise
        if args.output != "table":  # the refusal as the admin API gives it, on stdout; still exit 1
            print(document(args.output, exc.body))
            return 1
        print("aigw: the config file cannot be reloaded; the node keeps serving its config:", file=sys.stderr)
        for problem in exc.body["problems"]:
            print(f"  {problem}", file=sys.stderr)
        return 1
    if args.output != "table":
        print(document(args.output, done))
        return 0
    for change in done["changes"]:
        print(_line(change))
    if args.dry_run:
        print(f"{len(done['changes'])} change(s) to config {done['config']}", file=sys.stderr)
    elif not done["changes"]:
        print(f"no changes: still serving config {done['config']}", file=sys.stderr)
    else:
        switched = "every worker serves it" if done["workers_switched"] else "not every worker switched yet"
        print(f"serving config {done['config']} ({switched})", file=sys.stderr)
    return 0


def _line(change: dict[str, Any]) -> str:
    mark = {"added": "+", "removed": "-", "changed": "~"}[change["change"]]
    shown = ""
    if "before" in change or "after" in change:
        shown = f": {change.get('before')!r} -> {change.get('after')!r}"
    restart = "  (needs a restart)" if change.get("restart") else ""
    return f"{mark} {change['path']}{shown}{restart}"
