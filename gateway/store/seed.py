"""Make the store hold the tenants and apps the config declares (existing ones keep their keys)."""

from __future__ import annotations

from ..config.schema import Config
from .base import Store


def seed(store: Store, cfg: Config) -> None:
    for tenant in cfg.tenants:
        store.ensure_tenant(tenant.name)
        for app in tenant.apps:
            store.ensure_app(tenant.name, app.name, app.models)
