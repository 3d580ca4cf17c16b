"""deploy/systemd/aigw.service: systemd's own checker finds nothing in it (with ExecStart pointing
at a real install of the wheel), its offline security review rates the sandbox OK, and the drain
settings fit the gateway's shutdown timeout. No systemd runs as PID 1 on the test machines, so
the unit is checked, not started."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from gateway.config.schema import ServerConfig

from .install import ROOT, Install

UNIT = ROOT / "deploy" / "systemd" / "aigw.service"
needs_systemd_analyze = pytest.mark.skipif(
    not shutil.which("systemd-analyze"), reason="systemd-analyze is part of Debian's systemd package"
)


def directives(text: str) -> dict[str, list[str]]:
    """`Section.Key` -> every value given, in order (systemd allows a key more than once)."""
    found: dict[str, list[str]] = defaultdict(list)
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        found[f"{section}.{key}"].append(value)
    return found


def one(unit: dict[str, list[str]], key: str) -> str:
    (value,) = unit[key]
    return value


@needs_systemd_analyze
def test_systemd_analyze_verify_finds_nothing(installed: Install, tmp_path: Path):
    unit = tmp_path / "aigw.service"
    unit.write_text(UNIT.read_text().replace("/opt/aigw", str(installed.prefix)))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), result.stderr


@needs_systemd_analyze
def test_offline_security_review_rates_the_sandbox_ok():
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(UNIT)], capture_output=True, text=True
    )
    match = re.search(r"Overall exposure level for aigw\.service: ([0-9.]+) (\w+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= 2.0 and match.group(2) == "OK", match.group(0)


def test_sigterm_drains_within_the_stop_timeout_as_an_unprivileged_user():
    unit = directives(UNIT.read_text())
    assert one(unit, "Service.ExecStart") == "/opt/aigw/bin/aigw serve --config /etc/aigw/aigw.yaml"
    # SIGTERM to the supervisor alone, which drains its workers; systemd waits for the drain
    # (shutdown_timeout_s, then the supervisor's own 10 s margin) before it kills.
    assert one(unit, "Service.KillSignal") == "SIGTERM" and one(unit, "Service.KillMode") == "mixed"
    stop_s = int(one(unit, "Service.TimeoutStopSec"))
    assert stop_s > ServerConfig().shutdown_timeout_s + 10
    assert one(unit, "Service.Restart") == "on-failure"
    assert one(unit, "Service.User") not in ("", "root", "0")
    assert "Service.AmbientCapabilities" in unit and one(unit, "Service.CapabilityBoundingSet") == ""
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "RestrictSUIDSGID": "yes",
        "StateDirectory": "aigw",
    }.items():
        assert one(unit, f"Service.{key}") == value, key
    # Secrets come from a root-only file read by systemd, never from the unit itself.
    assert one(unit, "Service.EnvironmentFile") == "/etc/aigw/aigw.env"
    assert not any(re.search(r"(TOKEN|SECRET|KEY)=", v) for v in unit["Service.Environment"])
