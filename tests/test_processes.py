"""A node that starts removes the shared-memory files (region, published config, metrics
directory) left by nodes killed without removing theirs (gateway/processes.py), and only those:
a live process's stay, anything not named after a process stays, and another user's in a sticky
directory such as /dev/shm is left alone without stopping the node."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from gateway.processes import remove_dead_scratch

NOBODY = 65534


def dead_pid() -> int:
    """The pid of a process that has exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_dead_nodes_files_are_removed_a_live_ones_stay(tmp_path: Path):
    gone = dead_pid()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        (tmp_path / f"aigw-{gone}.region").write_bytes(b"\0" * 64)
        (tmp_path / f"aigw-{gone}.config").write_text("{}")
        (tmp_path / f"aigw-{gone}.metrics").mkdir()
        (tmp_path / f"aigw-{gone}.metrics" / "counter_1.db").write_bytes(b"x")
        kept = [
            f"aigw-{live.pid}.metrics",
            f"aigw-{os.getpid()}.region",
            f"aigw-{os.getpid()}.config",
            "aigw-metrics.region",  # not named after a process
            f"aigw-{gone}.other",  # not a node's file
        ]
        for name in kept:
            (tmp_path / name).write_bytes(b"")

        assert remove_dead_scratch(str(tmp_path)) == 3
        assert sorted(os.listdir(tmp_path)) == sorted(kept)
    finally:
        live.kill()
        live.wait()


@pytest.mark.skipif(os.geteuid() != 0, reason="runs a node's clean-up as another user: needs root")
def test_another_users_stale_files_are_left_alone():
    # As /dev/shm: anyone may write, only a file's owner may remove it (pytest's tmp_path is
    # closed to other users).
    shared = Path(tempfile.mkdtemp(prefix="aigw-shm-"))
    shared.chmod(0o1777)
    pid = dead_pid()
    region = shared / f"aigw-{pid}.region"
    region.write_bytes(b"\0" * 64)
    region.chmod(0o600)
    metrics = shared / f"aigw-{pid}.metrics"
    metrics.mkdir(mode=0o755)
    (metrics / "counter_1.db").write_bytes(b"x")
    # The clean-up as a node of another user runs it: in a child that gives up root first.
    child = os.fork()
    if child == 0:
        code = 1
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            code = 10 + remove_dead_scratch(str(shared))
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    try:
        assert os.waitstatus_to_exitcode(status) == 10  # finished, and removed nothing
        assert region.exists() and (metrics / "counter_1.db").exists()
    finally:
        shutil.rmtree(shared)
