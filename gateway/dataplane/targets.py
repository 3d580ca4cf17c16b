"""Upstream targets: one per (deployment, provider key), built once per worker from config.

A target carries everything a request needs to go out — the parsed origin, the provider key in a
pre-encoded header block, the upstream model name — so the hot path only looks things up.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..config.schema import Config, ProviderConfig
from ..upstream import Origin, encode_headers


class Target:
    __slots__ = ("header_block", "key_id", "origin", "provider", "timeout_s", "upstream_model")

    def __init__(self, provider: ProviderConfig, base_url: str, key_id: str, secret: str, model: str):
        self.provider = provider.name
        self.origin = Origin.from_url(base_url)
        self.key_id = key_id
        self.upstream_model = model
        self.timeout_s = provider.timeout_s
        self.header_block = encode_headers(
            [
                *provider.headers.items(),
                ("Authorization", f"Bearer {secret}"),
                ("Content-Type", "application/json"),
                ("User-Agent", "aigw"),
            ]
        )

    def __repr__(self) -> str:
        # Never the secret.
        return f"Target({self.provider}/{self.key_id} -> {self.upstream_model})"


def provider_url(provider: ProviderConfig, overrides: Mapping[str, str]) -> str:
    return overrides.get(provider.name) or provider.base_url


def build_targets(cfg: Config, url_overrides: Mapping[str, str]) -> dict[str, tuple[Target, ...]]:
    """Model group name -> its pool of targets, in selection order."""
    providers = {p.name: p for p in cfg.providers}
    pools: dict[str, tuple[Target, ...]] = {}
    for group in cfg.model_groups:
        pool: list[Target] = []
        for dep in group.deployments:
            p = providers[dep.provider]
            url = provider_url(p, url_overrides)
            pool += [Target(p, url, k.id, k.value, dep.model or group.name) for k in p.keys]
        pools[group.name] = tuple(pool)
    return pools
