"""deploy/compose: the single-node and the three-node compose files validate against the
published compose-spec schema (check-jsonschema's copy: vendor.compose-spec), refer only to
services, secrets and files that exist, drain within their stop grace period, keep the admin
listener off public ports, and mount node configs that `aigw config check` accepts whole (the
three-node one with the shared store and the cluster's Redis)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.config.schema import ServerConfig

from .cluster_config import CLUSTER_KEYS, check, cluster_keys
from .install import ROOT

COMPOSE = ROOT / "deploy" / "compose"
FILES = {"single": COMPOSE / "single" / "compose.yaml", "cluster": COMPOSE / "cluster" / "compose.yaml"}
SECRETS = {"AIGW_ADMIN_TOKEN": "t" * 32, "OPENAI_API_KEY": "sk-test", "POSTGRES_PASSWORD": "pw"}


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    checker = Path(sys.executable).parent / "check-jsonschema"
    return subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(path)], capture_output=True, text=True
    )


def load(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(path.read_text())
    return doc


def seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+)s", duration)
    assert match, duration
    return float(match.group(1))


def nodes(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in doc["services"].items() if s.get("image") == "aigw:local"}


@pytest.mark.parametrize("kind", sorted(FILES))
def test_compose_file_matches_the_compose_spec(kind: str, tmp_path: Path):
    result = validate(FILES[kind])
    assert result.returncode == 0, result.stdout + result.stderr
    # The validator is not a rubber stamp: a wrong type in the same file is refused.
    broken = load(FILES[kind])
    next(iter(nodes(broken).values()))["stop_grace_period"] = ["45s"]
    bad = tmp_path / "compose.yaml"
    bad.write_text(yaml.safe_dump(broken))
    assert validate(bad).returncode != 0


@pytest.mark.parametrize("kind", sorted(FILES))
def test_compose_nodes_drain_run_unprivileged_and_refer_to_what_exists(kind: str):
    path = FILES[kind]
    doc = load(path)
    assert nodes(doc), "no aigw node in the file"
    for name, service in doc["services"].items():
        for dependency in service.get("depends_on", {}):
            assert dependency in doc["services"], (name, dependency)
        for secret in service.get("secrets", []):
            assert secret in doc["secrets"], (name, secret)
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (path.parent / source).resolve().is_file(), (name, source)
            else:
                assert source in doc["volumes"], (name, source)
    for name, node in nodes(doc).items():
        assert node["build"] == {"context": "../../..", "dockerfile": "deploy/docker/Dockerfile"}
        assert seconds(node["stop_grace_period"]) > ServerConfig().shutdown_timeout_s + 10, name
        assert node["read_only"] is True and node["cap_drop"] == ["ALL"], name
        # Secrets arrive as files (the entrypoint reads VAR_FILE), never as values in the file.
        assert all(k.endswith("_FILE") for k in node["environment"]), name
        for env_file in node["environment"].values():
            assert env_file.removeprefix("/run/secrets/") in node["secrets"], (name, env_file)
        # The admin listener is published on the host's loopback only, if at all.
        for port in node.get("ports", []):
            assert not port.endswith(":8081") or port.startswith("127.0.0.1:"), (name, port)


def test_cluster_balancer_is_the_shipped_nginx_config_naming_every_node():
    doc = load(FILES["cluster"])
    lb = doc["services"]["lb"]
    assert "../../lb/nginx.conf:/etc/nginx/nginx.conf:ro" in lb["volumes"]
    servers = re.findall(r"^\s*server (\S+):8080 ", (ROOT / "deploy/lb/nginx.conf").read_text(), re.MULTILINE)
    assert sorted(servers) == sorted(nodes(doc)) == sorted(lb["depends_on"])
    for dependency in lb["depends_on"].values():
        assert dependency == {"condition": "service_healthy"}  # the image's /ready HEALTHCHECK


@pytest.mark.parametrize("kind", sorted(FILES))
def test_node_config_passes_aigw_config_check(kind: str, tmp_path: Path):
    doc = load(FILES[kind].parent / "aigw.yaml")
    server = doc["server"]
    assert server["host"] == server["admin_host"] == "0.0.0.0"  # reachable in the container network
    if kind == "cluster":
        urls = cluster_keys(doc)
        assert set(urls) == set(CLUSTER_KEYS)
        for place, url in urls.items():
            assert url.startswith(CLUSTER_KEYS[place]), (place, url)
    else:
        assert not cluster_keys(doc)
    result = check(doc, tmp_path, {**os.environ, **SECRETS})
    assert result.returncode == 0, result.stdout + result.stderr
