"""A process and everything it started, read from /proc."""

from __future__ import annotations

import re
from pathlib import Path


def tree(pid: int) -> list[int]:
    """`pid` and every live process below it."""
    found, stack = [], [pid]
    while stack:
        p = stack.pop()
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue  # exited meanwhile
        found.append(p)
    return found


def uid(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^Uid:\s+(\d+)", status, re.MULTILINE)
    assert match, status
    return int(match.group(1))
