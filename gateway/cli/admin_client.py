"""Calls from the `aigw` CLI to a running node's admin API (token from AIGW_ADMIN_TOKEN)."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any

from ..config.schema import Config


class AdminCallFailed(Exception):
    """What to tell the operator: the node is not there, or it refused the call."""


def admin_url(cfg: Config, override: str | None) -> str:
    s = cfg.server
    host = "127.0.0.1" if s.admin_host in ("0.0.0.0", "::", "") else s.admin_host
    return (override or f"http://{host}:{s.admin_port}").rstrip("/")


def call(method: str, url: str, body: Any = None) -> Any:
    """The decoded JSON answer, or AdminCallFailed naming what went wrong (the API's own message)."""
    headers = {"Authorization": f"Bearer {os.environ.get('AIGW_ADMIN_TOKEN', '')}"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 503):
            raise AdminCallFailed(
                f"the admin API answered {exc.code}: set AIGW_ADMIN_TOKEN to the node's token"
            ) from None
        try:
            message = json.load(exc)["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = f"HTTP {exc.code}"
        raise AdminCallFailed(message) from None
    except OSError as exc:
        raise AdminCallFailed(f"no node answers at {url} ({exc}); is `aigw serve` running?") from None
