"""The CLI's way to a running node's admin API: URL from the config (or --admin-url /
AIGW_ADMIN_URL), token from AIGW_ADMIN_TOKEN. Errors come back as one readable line."""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from ..admin.routes import APPLIED_HEADER, GENERATION_HEADER
from ..config.schema import ServerConfig


class AdminCallFailed(Exception):
    """The admin API refused or could not be reached; the message says why and what to do.
    `body`: the answer's decoded JSON when there was one."""

    def __init__(self, message: str, body: Any = None):
        super().__init__(message)
        self.body = body


def admin_url(server: ServerConfig | None, given: str | None) -> str:
    """--admin-url, else $AIGW_ADMIN_URL, else where the config's `server` section listens."""
    if given or os.environ.get("AIGW_ADMIN_URL"):
        return (given or os.environ["AIGW_ADMIN_URL"]).rstrip("/")
    assert server is not None
    s = server
    host = "127.0.0.1" if s.admin_host in ("0.0.0.0", "::", "") else s.admin_host
    return f"http://{host}:{s.admin_port}"


def call(base: str, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None) -> Any:
    """One admin request; the decoded JSON answer."""
    given = {k: v for k, v in (query or {}).items() if v is not None}
    url = base + urllib.parse.quote(path) + (f"?{urllib.parse.urlencode(given)}" if given else "")
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"Bearer {os.environ.get('AIGW_ADMIN_TOKEN', '')}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            if resp.headers.get(APPLIED_HEADER) == "false":
                generation = resp.headers.get(GENERATION_HEADER)
                print(
                    f"aigw: stored as generation {generation}, but not every worker served it yet; "
                    "they do at their next reload (`GET /ready` reports loaded_generation)",
                    file=sys.stderr,
                )
            return json.load(resp)
    except urllib.error.HTTPError as exc:
        try:
            body = json.load(exc)
        except ValueError:
            body = None
        try:
            message = body["error"]["message"]
        except (KeyError, TypeError):
            message = exc.reason
        hint = " (set AIGW_ADMIN_TOKEN to an admin token)" if exc.code == 401 else ""
        raise AdminCallFailed(f"the admin API answered {exc.code}: {message}{hint}", body) from None
    except OSError as exc:
        raise AdminCallFailed(f"no node answers at {base} ({exc}); is `aigw serve` running?") from None
