"""Upstream targets: one per (deployment, provider key), built once per worker from config.

A target carries everything a request needs to go out — the parsed origin, the provider key in a
pre-encoded header block (OpenAI-format providers) or the adapter and its auth headers (others),
the upstream model name — so the hot path only looks things up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..config.schema import Config, ProviderConfig
from ..config.seed import limit_rules
from ..keypool.directory import all_keys
from ..keypool.provider_limits import limiter_of, rules_for
from ..models.catalog import shipped
from ..models.params import OPENAI_API, ParamRules
from ..providers.base import adapter_for
from ..providers.registry import REGISTRY
from ..store.records import LimitRule, UpstreamSecret
from ..upstream import Origin, encode_headers


class Target:
    __slots__ = (
        "adapter",
        "base_url",
        "chat_path",
        "embeddings_path",
        "header_block",
        "key_headers",
        "key_id",
        "key_limits",
        "limiter",
        "max_response_bytes",
        "origin",
        "params",
        "priority",
        "provider",
        "rate_limits",
        "stale",
        "timeout_s",
        "upstream_model",
        "weight",
    )

    def __init__(
        self,
        provider: ProviderConfig,
        base_url: str,
        key_id: str,
        secret: str,
        model: str,
        priority: int = 0,
        weight: int = 1,
        key_limits: tuple[LimitRule, ...] = (),
    ):
        self.provider = provider.name
        # The key's configured limits (its own, else the provider's key_limits).
        self.key_limits = key_limits
        # Set when the key's secret was rotated or removed after this target was built.
        self.stale = False
        self.priority = priority
        self.weight = weight
        self.base_url = base_url
        self.origin = Origin.from_url(base_url, egress=provider.egress())
        self.key_id = key_id
        self.upstream_model = model
        self.timeout_s = provider.timeout_s
        self.max_response_bytes = provider.max_response_bytes
        # How the provider's answers speak of its rate limits, and how its limiter refills.
        self.rate_limits = rules_for(provider.type)
        self.limiter = limiter_of(provider.type, provider.limiter)
        self.chat_path = b"/chat/completions"
        self.embeddings_path = b"/embeddings"
        self.adapter: Any = None
        self.key_headers: list[tuple[str, str]] = []
        if REGISTRY[provider.type].passthrough:  # the caller's bytes go out unchanged: the fast path
            credentials = [("Authorization", f"Bearer {secret}"), ("Content-Type", "application/json")]
        else:
            self.adapter = adapter_for(provider.type, provider.options)
            self.key_headers = [*provider.headers.items(), *self.adapter.auth_headers(secret).items()]
            credentials = []
        self.header_block = encode_headers([*provider.headers.items(), *credentials, ("User-Agent", "aigw")])
        # What this API version and model take of a caller's parameters (gateway/models/params.py).
        api = OPENAI_API if self.adapter is None else self.adapter.accepted_params()
        self.params = ParamRules(api, model, shipped().of(model))

    def __repr__(self) -> str:
        # Never the secret.
        return f"Target({self.provider}/{self.key_id} -> {self.upstream_model})"


def provider_url(provider: ProviderConfig, overrides: Mapping[str, str]) -> str:
    return overrides.get(provider.name) or provider.base_url


def build_targets(
    cfg: Config, url_overrides: Mapping[str, str], stored: Sequence[UpstreamSecret] = ()
) -> dict[str, tuple[Target, ...]]:
    """Model group name -> its pool of targets, in priority tiers: every key of every deployment's
    provider, from the config and the store (`stored`: keys added at runtime)."""
    keys = all_keys(cfg, stored)
    pools: dict[str, tuple[Target, ...]] = {}
    for group in cfg.model_groups:
        pool: list[Target] = []
        for dep in group.deployments:
            model = dep.model or group.name
            pool += [
                Target(
                    p,
                    provider_url(p, url_overrides),
                    k.id,
                    k.value,
                    model,
                    dep.priority,
                    dep.weight,
                    tuple(limit_rules(p.key_limits if k.limits is None else k.limits)),
                )
                for p, k in keys
                if p.name == dep.provider
            ]
        # Sorted by priority tier (stable: config order within a tier), as admission expects.
        pools[group.name] = tuple(sorted(pool, key=lambda t: t.priority))
    return pools
