"""`aigw` run as an operator runs it: a subprocess, from a directory of its own, with only the
environment the test gives it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import ADMIN_TOKEN, MODELS_YAML, Gateway

# A config as the README's "switch to a real provider" writes it: the secret comes from the
# environment, and the store path is relative (to the config file's directory).
CONFIG = """
store:
  path: var/aigw.db
providers:
  - name: openai
    type: openai
    base_url: https://api.openai.com/v1
    keys:
      - id: team-key-1
        value: ${OPENAI_API_KEY}
model_groups:
  - name: gpt-4o-mini
    deployments:
      - provider: openai
tenants:
  - name: default
    apps:
      - name: demo
        models: ["*"]
"""


def aigw(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """`aigw ARGS` with no provider secret and no AIGW_HOME in its environment."""
    base = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "AIGW_HOME", "AIGW_ADMIN_URL")}
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        timeout=120,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A directory holding aigw.yaml (its store beside it, not made yet)."""
    (tmp_path / "aigw.yaml").write_text(CONFIG)
    return tmp_path


@pytest.fixture(scope="module")
def gateway(tmp_path_factory) -> Iterator[Gateway]:
    gw = Gateway(tmp_path_factory.mktemp("gw"), MODELS_YAML)
    gw.keys = {"demo": gw.new_key("demo")}
    gw.start()
    yield gw
    assert gw.stop() == 0


def admin_cli(gw: Gateway, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """An admin command against `gw`, with the operator's token."""
    return aigw(*args, "--config", str(gw.config), env={"AIGW_ADMIN_TOKEN": ADMIN_TOKEN}, stdin=stdin)
