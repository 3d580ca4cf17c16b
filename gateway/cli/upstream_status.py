"""`aigw keys status`: every provider key's state as the running node sees it (admin API)."""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request

from ..config.schema import Config


def run_status(cfg: Config, admin_url: str | None) -> int:
    s = cfg.server
    host = "127.0.0.1" if s.admin_host in ("0.0.0.0", "::", "") else s.admin_host
    url = (admin_url or f"http://{host}:{s.admin_port}").rstrip("/") + "/admin/upstream-keys"
    request = urllib.request.Request(
        url, headers={"Authorization": f"Bearer {os.environ.get('AIGW_ADMIN_TOKEN', '')}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            keys = json.load(resp)
    except urllib.error.HTTPError as exc:
        print(
            f"aigw: the admin API answered {exc.code}: set AIGW_ADMIN_TOKEN to the node's token",
            file=sys.stderr,
        )
        return 1
    except OSError as exc:
        print(f"aigw: no node answers at {url} ({exc}); is `aigw serve` running?", file=sys.stderr)
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
