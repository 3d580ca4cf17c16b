"""A node that starts removes the shared regions left by nodes killed without removing theirs
(gateway/node/region.py), and only those: a live process's region stays, and another user's
in a sticky directory such as /dev/shm is left alone without stopping the node."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from gateway.node.region import remove_stale_regions

NOBODY = 65534


def dead_pid() -> int:
    """The pid of a process that has exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_dead_nodes_region_is_removed_a_live_ones_stays(tmp_path: Path):
    dead = tmp_path / f"aigw-{dead_pid()}.region"
    live = tmp_path / f"aigw-{os.getpid()}.region"
    other = tmp_path / "aigw-metrics.region"  # not named after a process
    for path in (dead, live, other):
        path.write_bytes(b"\0" * 64)
    assert remove_stale_regions(str(tmp_path)) == 1
    assert not dead.exists() and live.exists() and other.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="runs a node's clean-up as another user: needs root")
def test_another_users_stale_region_is_left_alone():
    # As /dev/shm: anyone may write, only a file's owner may remove it (pytest's tmp_path is
    # closed to other users).
    shared = Path(tempfile.mkdtemp(prefix="aigw-shm-"))
    shared.chmod(0o1777)
    roots = shared / f"aigw-{dead_pid()}.region"
    roots.write_bytes(b"\0" * 64)
    roots.chmod(0o600)
    # The clean-up as a node of another user runs it: in a child that gives up root first.
    child = os.fork()
    if child == 0:
        code = 1
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            code = 10 + remove_stale_regions(str(shared))
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    try:
        assert os.waitstatus_to_exitcode(status) == 10  # finished, and removed nothing
        assert roots.exists()
    finally:
        shutil.rmtree(shared)
