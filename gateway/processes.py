"""Whether a process is still there, for files named after the process that made them; and the
node's scratch files, named after its supervisor, which a node killed outright leaves behind."""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import tempfile

_SCRATCH = re.compile(r"aigw-(\d+)\.(?:config|metrics|region)$")


def alive(pid: int) -> bool:
    """True while process `pid` exists (also when it is another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def scratch_dir() -> str:
    """Where a node keeps its shared-memory region, published config and workers' metrics: tmpfs
    when there is one (they are mmapped)."""
    return "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()


def scratch_path(kind: str) -> str:
    """This node's scratch file or directory of `kind` (`config`, `metrics`, `region`)."""
    return os.path.join(scratch_dir(), f"aigw-{os.getpid()}.{kind}")


def remove_dead_scratch(base: str | None = None) -> int:
    """Remove the scratch files of nodes no longer alive (killed by a signal or the OOM killer,
    they could not clean up); returns how many. Nodes sharing `base` share a PID namespace (a
    container has its own /dev/shm), so a PID not alive is a node that is gone."""
    removed = 0
    for path in glob.glob(os.path.join(base or scratch_dir(), "aigw-*.*")):
        match = _SCRATCH.search(os.path.basename(path))
        if match is None or alive(int(match.group(1))):
            continue
        # Gone already (another node starting removed it), or another user's in a sticky
        # directory such as /dev/shm: not this node's to remove.
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if os.path.isdir(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
            removed += 1
    return removed
