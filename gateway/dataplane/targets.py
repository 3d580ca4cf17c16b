"""Upstream targets: one per (deployment, provider key), built once per worker from config.

A target carries everything a request needs to go out — URLs, the provider key as a ready
header, the upstream model name — so the hot path only looks things up.
"""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp

from ..config.schema import Config, ProviderConfig


class Target:
    __slots__ = ("base_url", "headers", "key_id", "provider", "timeout", "timeout_s", "upstream_model")

    def __init__(self, provider: ProviderConfig, base_url: str, key_id: str, secret: str, model: str):
        self.provider = provider.name
        self.base_url = base_url.rstrip("/")
        self.key_id = key_id
        self.upstream_model = model
        self.timeout_s = provider.timeout_s
        # No total cap: a long stream is fine as long as bytes keep coming.
        self.timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=provider.connect_timeout_s, sock_read=provider.timeout_s
        )
        self.headers = {
            **provider.headers,
            "Authorization": f"Bearer {secret}",
            "Content-Type": "application/json",
        }

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
