"""Node configs written for a cluster (store.url for PostgreSQL, cluster.redis_url for Redis, as
the cluster design names them) checked with today's `aigw config check`: the keys this
build of aigw does not know yet are set aside, and everything else must pass. Once the schema
has them, nothing is set aside and the whole file is checked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import yaml

from gateway.config.schema import Config, StoreConfig

# The keys the cluster design gives a node's config, and the URL scheme each must carry.
CLUSTER_KEYS = {("store", "url"): ("postgresql://",), ("cluster", "redis_url"): ("redis://", "rediss://")}


def known(section: str, key: str) -> bool:
    if section == "store":
        return key in {f.name for f in msgspec.structs.fields(StoreConfig)}
    return section in {f.name for f in msgspec.structs.fields(Config)}


def cluster_keys(doc: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(s, k): doc[s][k] for s, k in CLUSTER_KEYS if k in (doc.get(s) or {})}


def without_unreleased_keys(doc: dict[str, Any]) -> dict[str, Any]:
    doc = {k: dict(v) if isinstance(v, dict) else v for k, v in doc.items()}
    for section, key in CLUSTER_KEYS:
        if not known(section, key) and key in (doc.get(section) or {}):
            del doc[section][key]
            if not doc[section]:
                del doc[section]
    return doc


def check(doc: dict[str, Any], tmp: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    path = tmp / "aigw.yaml"
    path.write_text(yaml.safe_dump(doc))
    return subprocess.run(
        [sys.executable, "-m", "gateway", "config", "check", str(path)],
        capture_output=True,
        text=True,
        env=env,
    )
