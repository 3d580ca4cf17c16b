"""What a command works on: the config, the store it names and the running node's admin API,
each found the same way by every command (README, "Commands").

The store: the config's `store.url` (PostgreSQL), else its `store.path` (relative to the config
file), else $AIGW_HOME/aigw.db, else ./var/aigw.db. A command that only reads never creates one;
`-v` says which it uses.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any

from ..config import Config, load_config
from ..config.loader import load_server
from ..config.seed import seed
from ..store import Store, default_store_path, open_store
from .admin_client import admin_url, call

# Config sections no store or admin command reads: their unset ${VAR}s (provider secrets) are
# not needed to find the store or the admin listener.
UNREAD = ("providers", "events")


class NoStore(Exception):
    """A read-only command named a store that does not exist; the message says where it looked."""


def common_options(p: argparse.ArgumentParser) -> None:
    """--config and -v, on every command that reads a config."""
    p.add_argument("--config", help="config file (default: the bundled quickstart config)")
    p.add_argument("-v", "--verbose", action="store_true", help="say which store or admin URL is used")
    p.add_argument("--debug", action="store_true", help="show the traceback of an unexpected error")


def admin_options(p: argparse.ArgumentParser) -> None:
    common_options(p)
    p.add_argument("--admin-url", help="default: $AIGW_ADMIN_URL, else the config's admin listener")


class Context:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self._config: Config | None = None
        self._admin_url: str | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(getattr(self.args, "config", None), unread=UNREAD)
        return self._config

    def store_path(self) -> tuple[Path, str]:
        """Where the SQLite store is, and why there."""
        if self.config.store.path:
            return Path(self.config.store.path), f"store.path in {self.args.config}"
        if os.environ.get("AIGW_HOME"):
            return default_store_path(), "$AIGW_HOME"
        config = "the bundled config" if getattr(self.args, "config", None) is None else self.args.config
        return default_store_path(), f"the default (no store.path in {config}, no $AIGW_HOME)"

    def open_store(self, *, writes: bool) -> Store:
        """The store; a command that `writes` may create a SQLite file (and says so), one that
        reads may not. A writing command first makes the store hold the config's tenants and
        apps, so an app the config declares can get keys before the first `aigw serve`."""
        url = self.config.store.url
        if url:  # a cluster's PostgreSQL store: it exists before any node
            self.note(f"store {re.sub(r':[^:@/]*@', ':***@', url)} (store.url in {self.args.config})")
            store = open_store(url=url)
        else:
            path, why = self.store_path()
            self.note(f"store {path} ({why})")
            if not path.exists():
                if not writes:
                    raise NoStore(
                        f"no store at {path} ({why}): pass the --config your gateway runs with, or "
                        "set AIGW_HOME; `aigw serve` creates the store"
                    )
                print(f"aigw: creating a new store at {path} ({why})", file=sys.stderr)
            store = open_store(path=str(path))
        if writes:
            seed(store, self.config)
        return store

    def admin_url(self) -> str:
        if self._admin_url is None:
            given = getattr(self.args, "admin_url", None)
            self._admin_url = admin_url(
                None if given or os.environ.get("AIGW_ADMIN_URL") else load_server(self.args.config), given
            )
            self.note(f"admin API {self._admin_url}")
        return self._admin_url

    def admin(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None) -> Any:
        """One request to the running node's admin API; raises AdminCallFailed."""
        return call(self.admin_url(), method, path, body, query)

    def note(self, text: str) -> None:
        if getattr(self.args, "verbose", False):
            print(f"aigw: {text}", file=sys.stderr)
