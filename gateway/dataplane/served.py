"""What one worker serves, as one immutable object: the node's config (providers, model groups and
their fallbacks and retry rules, aliases, body capture) and the admission tables
built from it and a store snapshot. A request reads it once, when it arrives, and keeps it to its
last byte; a reload builds the next one beside it and swaps it in with one assignment, so a
request (a stream included) finishes on the config it started with while the next one already
meets the new config.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..admission import AdmissionTable
from ..calllog.capture import Capture
from ..config.schema import Config, ModelGroup
from ..store.records import UpstreamSecret
from .attempts import Policy, WaitingRoom
from .services import ServiceTables
from .targets import Target


class Served:
    __slots__ = (
        "canonical",
        "captures",
        "cfg",
        "epoch",
        "generation",
        "groups",
        "policies",
        "pools",
        "services",
        "stored",
        "table",
    )

    def __init__(
        self,
        epoch: int,
        cfg: Config,
        generation: int,
        pools: Mapping[str, tuple[Target, ...]],
        table: AdmissionTable,
        services: ServiceTables,
        rooms: Mapping[str, WaitingRoom],
        stored: Sequence[UpstreamSecret] = (),
    ):
        self.epoch = epoch  # the node's config number (gateway/config/published.py)
        self.cfg = cfg
        self.generation = generation  # the store generation the tables were built from
        self.pools = pools  # model group -> its targets, in priority tiers
        self.table = table
        self.services = services
        self.stored = stored  # provider keys added at runtime, as the snapshot had them
        self.groups: dict[str, ModelGroup] = {g.name: g for g in cfg.model_groups}
        # A model group's retry rules; its waiting room outlives reloads (requests wait in it).
        self.policies = {
            g.name: Policy(
                g.name,
                g.max_attempts,
                tuple(g.fallbacks),
                g.max_wait_s,
                _room(rooms, g.name, g.max_queue),
                g.clamp_params,
            )
            for g in cfg.model_groups
        }
        self.canonical = {alias: g.name for g in cfg.model_groups for alias in g.aliases}
        # Body capture per model group: its own `capture:`, else calllog.capture.
        self.captures = {
            g.name: Capture(c)
            for g in cfg.model_groups
            if (c := g.capture or cfg.calllog.capture).enabled and cfg.calllog.enabled
        }

    def rooms(self) -> dict[str, WaitingRoom]:
        return {name: policy.room for name, policy in self.policies.items()}


def _room(rooms: Mapping[str, WaitingRoom], group: str, size: int) -> WaitingRoom:
    room = rooms.get(group)
    if room is None:
        return WaitingRoom(size)
    room.size = size  # requests already waiting stay; the new bound holds for the next ones
    return room
