"""`aigw status`: is the node up (its supervisor's /health) and ready (store open, data plane
answering: /ready)? Exit code 0 only when ready, so scripts can wait on it."""

from __future__ import annotations

import argparse
from typing import Any

from .admin_client import AdminCallFailed
from .context import Context, admin_options
from .output import document, output_option


def add_status_parser(sub: Any) -> None:
    p = sub.add_parser("status", help="is the running node up and ready (exit 0 when ready)")
    admin_options(p)
    output_option(p)
    p.set_defaults(run=run_status, covers=("GET /health", "GET /ready"))


def run_status(args: argparse.Namespace, ctx: Context) -> int:
    health = ctx.admin("GET", "/health")
    try:
        ready = ctx.admin("GET", "/ready")
    except AdminCallFailed as exc:  # 503: not ready, with the same body
        ready = exc.body or {"ready": False}
    if args.output != "table":
        print(document(args.output, {"version": health["version"], "admin_url": ctx.admin_url()} | ready))
        return 0 if ready.get("ready") else 1
    parts = [f"aigw {health['version']} at {ctx.admin_url()}", "ready" if ready.get("ready") else "NOT ready"]
    parts += [f"{part} {'ok' if ready.get(part) else 'down'}" for part in ("store", "dataplane")]
    if ready.get("generation") is not None:
        parts.append(f"config generation {ready['generation']}")
    print(", ".join(parts))
    return 0 if ready.get("ready") else 1
