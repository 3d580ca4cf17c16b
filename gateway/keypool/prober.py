"""Background probes (in the supervisor, one per node): a key that ran out of quota or that the
provider refused is tried again at its provider's interval and put back in service as soon as a
probe succeeds. Every worker sees the change at once, through the shared region."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from ..admission.layout import STATE_EXHAUSTED, STATE_HEALTHY, STATE_INVALID, key_id
from ..config.schema import Config
from ..upstream import Origin, Pool, UpstreamError, encode_headers
from .directory import KeyDirectory

log = logging.getLogger("aigw.keys")

TICK_S = 0.25
SECOND = 1_000_000_000


class _Probe:
    __slots__ = ("headers", "interval", "invalid_interval", "key", "model", "origin", "provider", "slot")

    def __init__(self, cfg: Any, key: Any, slot: int, base_url: str, model: str):
        self.provider = cfg.name
        self.key = key.id
        self.slot = slot
        self.origin = Origin.from_url(base_url, egress=cfg.egress())
        self.model = model
        self.interval = int(cfg.probe_interval_s * SECOND)
        self.invalid_interval = int(cfg.invalid_probe_interval_s * SECOND)
        self.headers = encode_headers(
            [
                *cfg.headers.items(),
                ("Authorization", f"Bearer {key.value}"),
                ("Content-Type", "application/json"),
            ]
        )


def _probe_models(cfg: Config) -> dict[str, str]:
    # A quota probe needs a model the provider serves: the first deployment that uses it.
    models: dict[str, str] = {}
    for group in cfg.model_groups:
        for dep in group.deployments:
            models.setdefault(dep.provider, dep.model or group.name)
    return models


async def run_prober(region: Any, directory: KeyDirectory, urls: Callable[[], Mapping[str, str]]) -> None:
    """Probe every key of the node due for it, the config's and those added at runtime alike.
    `urls`: the base URLs of the node's mock providers now."""
    pool = Pool(max_connections_per_origin=4, connect_timeout=5.0)
    keys: list[Any] | None = None
    targets: list[_Probe] = []
    try:
        while True:
            await asyncio.sleep(TICK_S)
            current = directory.current()
            if current is not keys:  # a key was added, rotated or removed; the config reloaded
                keys = current
                models = _probe_models(directory.cfg)
                targets = [
                    _Probe(
                        p,
                        k,
                        region.key_slot(key_id(p.name, k.id)),
                        urls().get(p.name) or p.base_url,
                        models[p.name],
                    )
                    for p, k in keys
                    if p.name in models
                ]
            now = time.monotonic_ns()
            for probe in targets:
                state = region.state(probe.slot)
                if state in (STATE_EXHAUSTED, STATE_INVALID) and region.next_probe(probe.slot) <= now:
                    await _probe(pool, region, probe, state)
    finally:
        await pool.close()


async def _probe(pool: Pool, region: Any, probe: _Probe, state: int) -> None:
    # Refused keys: listing models proves the key is accepted again. Exhausted keys: the smallest
    # completion proves there is quota again (a listing would succeed without any).
    if state == STATE_INVALID:
        method, path, body = b"GET", b"/models", b""
    else:
        body = orjson.dumps(
            {"model": probe.model, "max_tokens": 1, "messages": [{"role": "user", "content": "ping"}]}
        )
        method, path = b"POST", b"/chat/completions"
    try:
        async with await pool.request(
            probe.origin, method, path, probe.headers, body, read_timeout=30
        ) as resp:
            await resp.read()
            ok = resp.status < 400
    except UpstreamError:
        ok = False
    now = time.monotonic_ns()
    if ok:
        region.set_state(probe.slot, STATE_HEALTHY, now)
        log.warning("key %s/%s recovered: a probe succeeded", probe.provider, probe.key)
    else:
        region.set_next_probe(
            probe.slot, now + (probe.invalid_interval if state == STATE_INVALID else probe.interval)
        )
