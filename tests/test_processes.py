"""Scratch files of nodes that are gone are removed; those of live processes, and anything not
named as a node's scratch file, are left alone."""

import os
import subprocess
import sys

from gateway.processes import alive, remove_dead_scratch


def test_a_dead_nodes_scratch_is_removed_and_a_live_ones_kept(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        assert not alive(gone.pid) and alive(live.pid)
        (tmp_path / f"aigw-{gone.pid}.metrics").mkdir()
        (tmp_path / f"aigw-{gone.pid}.metrics" / "counter_1.db").write_bytes(b"x")
        (tmp_path / f"aigw-{gone.pid}.config").write_text("{}")
        kept = [f"aigw-{live.pid}.metrics", f"aigw-{os.getpid()}.config", "aigw-x.metrics", "other"]
        for name in kept:
            (tmp_path / name).mkdir()

        removed = remove_dead_scratch(str(tmp_path))

        assert sorted(os.path.basename(p) for p in removed) == [
            f"aigw-{gone.pid}.config",
            f"aigw-{gone.pid}.metrics",
        ]
        assert sorted(os.listdir(tmp_path)) == sorted(kept)
    finally:
        live.kill()
        live.wait()
