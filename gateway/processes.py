"""Whether a process is still there, for files named after the process that made them."""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    """True while process `pid` exists (also when it is another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
