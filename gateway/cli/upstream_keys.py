"""`aigw upstream-keys add|rotate|remove`: change a running node's provider keys (admin API).

The secret is read from an environment variable (--from-env) or the first line of stdin, never
from the command line, where `ps` and shell history would show it.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ..config.schema import Config
from .admin_client import AdminCallFailed, admin_url, call


def add_upstream_keys_parser(sub: Any) -> None:
    keys = sub.add_parser(
        "upstream-keys", help="add, rotate or remove provider keys on the running node"
    ).add_subparsers(dest="action", required=True)
    for action, summary in (
        ("add", "add a key to a provider (stored encrypted; every worker uses it within 1 s)"),
        ("rotate", "give a key added at runtime a new secret under the same id"),
        ("remove", "remove a key added at runtime"),
    ):
        p = keys.add_parser(action, help=summary)
        p.add_argument("provider")
        p.add_argument("key_id")
        if action != "remove":
            p.add_argument(
                "--from-env", metavar="VAR", help="read the secret from this variable (default: stdin)"
            )
        p.add_argument("--config")
        p.add_argument("--admin-url", help="default: the config's admin listener")


def run_upstream_keys(args: argparse.Namespace, cfg: Config) -> int:
    base = admin_url(cfg, args.admin_url)
    path = f"/admin/upstream-keys/{args.provider}"
    try:
        if args.action == "remove":
            call(base, "DELETE", f"{path}/{args.key_id}")
        else:
            secret = _secret(args.from_env)
            if args.action == "add":
                call(base, "POST", path, {"key_id": args.key_id, "secret": secret})
            else:
                call(base, "PUT", f"{path}/{args.key_id}", {"secret": secret})
    except AdminCallFailed as exc:
        print(f"aigw: {exc}", file=sys.stderr)
        return 1
    done = {"add": "added", "rotate": "rotated", "remove": "removed"}[args.action]
    print(f"{done} {args.provider}/{args.key_id}")
    return 0


def _secret(variable: str | None) -> str:
    if variable:
        value = os.environ.get(variable)
        if value is None:
            raise AdminCallFailed(f"environment variable {variable} is not set")
        return value.strip()
    return sys.stdin.readline().strip()
