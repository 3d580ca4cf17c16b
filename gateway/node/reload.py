"""Reloading a node's config without a restart (`aigw reload`, SIGHUP, `POST /admin/config/reload`).

The file the node started from is read and checked as at start; a config with problems is refused
with every problem listed, and so is one that changes what only a restart can change (listeners,
worker count, the store, shared-memory sizes, the call log's writer, metrics, tracing: the fields
marked RESTART in the schema), naming each such field. Otherwise:

1. the mock providers it adds or changes are started (their addresses are part of the config
   the workers get);
2. the new config is published for the workers (gateway/config/published.py), then the store's
   generation is bumped (the tenants and apps it declares are seeded first), which is how every
   worker learns of it — a worker that sees the bump reads the new config;
3. each worker builds what it serves from it beside what it serves now and swaps it in between
   two requests: requests in flight, streams included, finish on the config they started with;
4. the supervisor's own state follows (the key directory, so the prober, the key-event watcher
   and the admin API), and the answer waits, bounded, until every worker serves the new config;
5. mocks no longer needed stop after `server.shutdown_timeout_s`, the time a stream that started
   on one may still run.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ..admin.propagation import Propagation
from ..config.changes import ConfigChange, Reloaded, ReloadRefused, config_changes
from ..config.loader import ConfigError, load_text, read_source
from ..config.published import Overrides, Published, publish
from ..config.schema import Config
from ..config.seed import seed
from ..keypool.directory import KeyDirectory
from ..processes import scratch_path
from ..store import Store
from ..telemetry import logs
from .children import Mocks
from .region import key_capacity

log = logging.getLogger("aigw.reload")


def node_config_path() -> str:
    return scratch_path("config")


class NodeConfig:
    """The config the node serves: where it came from, and what the workers were given."""

    def __init__(self, path: str | None, overrides: Overrides, text: str, source: str, cfg: Config):
        self.path = path  # as given to `aigw serve --config` (None: the bundled quickstart)
        self.overrides = overrides
        self.cfg = cfg
        self.published = Published(epoch=1, source=source, text=text, overrides=overrides)
        self.published_path = node_config_path()

    def publish(self, published: Published) -> None:
        publish(self.published_path, published)
        self.published = published


class Reloader:
    def __init__(
        self,
        node: NodeConfig,
        store: Store,
        region: Any,
        directory: KeyDirectory,
        mocks: Mocks,
        propagation: Propagation,
    ):
        self.node = node
        self._store = store
        self._region = region
        self._directory = directory
        self._mocks = mocks
        self._propagation = propagation
        self._lock = asyncio.Lock()  # one reload at a time

    async def reload(self, dry_run: bool = False) -> Reloaded:
        """Read, check and (unless `dry_run`) serve the config file. Raises ReloadRefused."""
        async with self._lock:
            node = self.node
            loop = asyncio.get_running_loop()
            try:
                text, source = read_source(node.path)
                cfg = node.overrides.apply(
                    await loop.run_in_executor(None, lambda: load_text(text, source, shown=node.path))
                )
            except ConfigError as exc:
                raise ReloadRefused(exc.problems, []) from None
            changes = config_changes(node.cfg, cfg)
            problems = [
                f"{c.path}: changing it needs a restart (the running node keeps serving the old value)"
                for c in changes
                if c.restart
            ]
            if key_capacity(cfg) > self._region.key_capacity:
                problems.append(
                    f"providers: {sum(len(p.keys) for p in cfg.providers)} keys need more of the node's "
                    "shared memory than it was started with; restart the node to serve them"
                )
            if problems:
                raise ReloadRefused(problems, changes)
            epoch = node.published.epoch
            if dry_run or not changes:
                return Reloaded(applied=not dry_run, config=epoch, changes=changes)
            return await self._apply(cfg, text, source, changes)

    async def _apply(self, cfg: Config, text: str, source: str, changes: list[ConfigChange]) -> Reloaded:
        node = self.node
        try:
            urls, unused = await self._mocks.follow(cfg.providers)
        except Exception as exc:
            raise ReloadRefused([f"providers: a mock provider did not start: {exc}"], changes) from None
        published = Published(
            epoch=node.published.epoch + 1,
            source=source,
            text=text,
            overrides=node.overrides,
            provider_urls=urls,
        )
        try:
            node.publish(published)
            seed(self._store, cfg)
            generation = self._store.bump_generation()
        except Exception:
            self._mocks.abandon()
            raise
        node.cfg = cfg
        logs.configure(cfg.logging)
        self._mocks.commit(urls, unused, cfg.server.shutdown_timeout_s)
        self._directory.use(cfg)
        switched = await self._propagation.served(generation)
        log.warning(
            "config %d from %s: %d change(s); every worker %s",
            published.epoch,
            node.path or "the bundled quickstart",
            len(changes),
            "serves it" if switched else "did not switch yet (they do at their next reload)",
        )
        return Reloaded(
            applied=True,
            config=published.epoch,
            changes=changes,
            generation=generation,
            workers_switched=switched,
        )

    async def on_signal(self) -> None:
        """SIGHUP: reload, and say in the log what happened (there is no caller to answer)."""
        try:
            done = await self.reload()
        except ReloadRefused as exc:
            log.error(
                "reload refused; still serving config %d:\n%s",
                self.node.published.epoch,
                "\n".join(f"  {p}" for p in exc.problems),
            )
        except Exception:
            log.exception("reload failed; still serving config %d", self.node.published.epoch)
        else:
            if not done.changes:
                log.warning("reload: the config file has no changes; still serving config %d", done.config)
