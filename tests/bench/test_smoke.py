"""End to end: the passthrough scenario starts nginx twice and aigw (twice: with call logging and
metrics, and without), loads them briefly and reports throughput for each with zero errors. It
may apt-get install nginx and wrk (as root)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.install import find_command

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(
    os.geteuid() != 0 and not (find_command("nginx") and find_command("wrk")),
    reason="needs nginx and wrk, or root to install them",
)
@pytest.mark.skipif(not shutil.which("taskset"), reason="needs taskset (util-linux)")
def test_passthrough_end_to_end(tmp_path):
    out = tmp_path / "out"
    command = [
        "passthrough",
        "--duration",
        "2",
        "--connections",
        "8",
        "--repeat",
        "1",
        "--warmup",
        "0.5",
        "--no-chart",
        "--out",
    ]
    result = subprocess.run(
        [sys.executable, "-m", "bench", *command, str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    doc = json.loads((out / "passthrough.json").read_text())
    assert doc["flagged"] is False, doc["flags"]
    for mode in ("closed", "open"):
        for target in ("aigw", "nginx", "direct"):
            row = doc["summary"][mode][target]
            assert row["rps"] > 0, (mode, target, row)
            assert row["non2xx"] == 0 and row["socket_errors"] == 0
    assert doc["headline"]["aigw_vs_nginx"] > 0
    # The same run measures aigw with call logging and metrics off.
    assert doc["summary"]["closed"]["aigw-quiet"]["rps"] > 0 and doc["headline"]["aigw_vs_quiet"] > 0
    assert doc["summary"]["closed"]["aigw"]["cpu_s_per_1k"] > 0
    assert (out / "passthrough.md").read_text().startswith("# aigw bench: passthrough")
