"""Node configs written for a cluster (store.url for PostgreSQL, cluster.redis_url for Redis,
docs/cluster.md), and `aigw config check` run on a whole node config."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

# The keys that make a node part of a cluster, and the URL schemes each may carry.
CLUSTER_KEYS = {("store", "url"): ("postgresql://",), ("cluster", "redis_url"): ("redis://", "rediss://")}


def cluster_keys(doc: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(s, k): doc[s][k] for s, k in CLUSTER_KEYS if k in (doc.get(s) or {})}


def check(doc: dict[str, Any], tmp: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    path = tmp / "aigw.yaml"
    path.write_text(yaml.safe_dump(doc))
    return subprocess.run(
        [sys.executable, "-m", "gateway", "config", "check", str(path)],
        capture_output=True,
        text=True,
        env=env,
    )
