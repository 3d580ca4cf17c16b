"""Key-health events: the supervisor watches every key's record in the node's shared region and
reports transitions — cooling, exhausted, invalid, disabled, recovered — and each model group's
pool headroom falling under `events.pool_low_headroom` (pool_low) and back (pool_recovered), in
the log and to the configured webhooks (JSON POST, retried with backoff), whichever worker
caused them."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

import aiohttp
import msgspec

from ..admission.layout import STATE_HEALTHY, STATE_NAMES, key_id
from .directory import KeyDirectory
from .pools import pool_headroom

if TYPE_CHECKING:
    from .event_log import KeyEventLog

log = logging.getLogger("aigw.keys")

TICK_S = 0.25
RETRIES = 5


class KeyEvent(msgspec.Struct, kw_only=True):
    """What a webhook receives. Never the key itself: its id in the config."""

    event: str  # cooling, exhausted, invalid, disabled, recovered
    provider: str
    key_id: str
    at: float  # Unix time
    until_s: float | None = None  # cooling: seconds until the key is used again


class PoolEvent(msgspec.Struct, kw_only=True):
    """What a webhook receives when a model group's pool runs low, and when it recovers."""

    event: str  # pool_low, pool_recovered
    model_group: str
    headroom: float  # 0..1: the mean share of capacity its keys have left
    threshold: float
    at: float  # Unix time


_encoder = msgspec.json.Encoder()


def _status(record: dict[str, int], now: int) -> str:
    if record["state"] != STATE_HEALTHY:
        return STATE_NAMES.get(record["state"], "unknown")
    return "cooling" if record["cool_until"] > now else "healthy"


async def watch_keys(directory: KeyDirectory, region: Any, recent: KeyEventLog | None = None) -> None:
    """Report transitions every TICK_S; each key event also goes to `recent` (the admin API's)."""
    last: dict[int, str] = {}  # slot -> status; a key added at runtime starts healthy
    low: set[str] = set()  # model groups whose pool is low
    session: aiohttp.ClientSession | None = None
    pending: set[asyncio.Task[None]] = set()

    def emit(event: KeyEvent | PoolEvent) -> None:
        nonlocal session
        hooks = directory.cfg.events.webhooks  # the config the node serves now
        if hooks:
            if session is None:
                session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
            body = _encoder.encode(event)
            for url in hooks:
                task = asyncio.ensure_future(_deliver(session, url, body))
                pending.add(task)
                task.add_done_callback(pending.discard)

    try:
        while True:
            await asyncio.sleep(TICK_S)
            now = time.monotonic_ns()
            keys = directory.current()
            for p, k in keys:
                provider, key = p.name, k.id
                slot = region.key_slot(key_id(provider, key))
                record = region.record(slot)
                status = _status(record, now)
                if status == last.get(slot, "healthy"):
                    continue
                last[slot] = status
                name = "recovered" if status == "healthy" else status
                log.info("key event: %s %s/%s", name, provider, key)
                key_event = KeyEvent(
                    event=name,
                    provider=provider,
                    key_id=key,
                    at=time.time(),
                    until_s=round((record["cool_until"] - now) / 1e9, 3) if status == "cooling" else None,
                )
                if recent is not None:
                    recent.append(key_event)
                emit(key_event)
            cfg = directory.cfg
            threshold = cfg.events.pool_low_headroom
            if threshold <= 0:
                continue
            for group, headroom in pool_headroom(cfg, keys, region, now).items():
                if (headroom < threshold) == (group in low):
                    continue
                if headroom < threshold:
                    event = "pool_low"
                    low.add(group)
                else:
                    event = "pool_recovered"
                    low.discard(group)
                log.warning(
                    "pool event: %s %s (headroom %.2f, threshold %.2f)", event, group, headroom, threshold
                )
                emit(
                    PoolEvent(
                        event=event,
                        model_group=group,
                        headroom=round(headroom, 3),
                        threshold=threshold,
                        at=time.time(),
                    )
                )
    finally:
        for task in pending:
            task.cancel()
        if session is not None:
            await session.close()


async def _deliver(session: aiohttp.ClientSession, url: str, body: bytes) -> None:
    for attempt in range(RETRIES):
        try:
            async with session.post(url, data=body, headers={"content-type": "application/json"}) as resp:
                if resp.status < 300:
                    return
        except (aiohttp.ClientError, TimeoutError):
            pass
        await asyncio.sleep(0.5 * 2**attempt)
    log.warning("key event webhook %s failed %d times; dropped", url, RETRIES)
