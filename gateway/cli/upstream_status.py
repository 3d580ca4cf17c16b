"""`aigw keys status`: every provider key's state as the running node sees it (admin API)."""

from __future__ import annotations

import sys

from ..config.schema import Config
from .admin_client import AdminCallFailed, admin_url, call


def run_status(cfg: Config, given_url: str | None) -> int:
    try:
        keys = call(admin_url(cfg, given_url), "GET", "/admin/upstream-keys")
    except AdminCallFailed as exc:
        print(f"aigw: {exc}", file=sys.stderr)
        return 1
    header = ("provider/key", "state", "in flight", "requests left", "tokens left")
    print(f"{header[0]:<32} {header[1]:<10} {header[2]:>9} {header[3]:>14} {header[4]:>12}  until")
    for k in keys:
        until = k["cooling_for_s"] if k["cooling_for_s"] is not None else k["next_probe_in_s"]
        requests = _left(k["remaining_requests"], k["limit_requests"])
        tokens = _left(k["remaining_tokens"], k["limit_tokens"])
        name = f"{k['provider']}/{k['key_id']}"
        when = f"{until:g}s" if until is not None else "-"
        print(f"{name:<32} {k['state']:<10} {k['in_flight']:>9} {requests:>14} {tokens:>12}  {when}")
    return 0


def _left(remaining: int | None, limit: int | None) -> str:
    return "-" if remaining is None else f"{remaining}/{limit}"
