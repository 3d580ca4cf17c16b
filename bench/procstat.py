"""CPU time and memory of a process tree, read from /proc.

CPU: utime + stime of the root and every live descendant (threads are included in a process's
figures). RSS: resident pages summed over the tree, sampled on a background thread for the peak.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def parse_stat(text: str) -> tuple[int, float]:
    """(parent pid, CPU seconds) from one /proc/<pid>/stat line.

    The command name (field 2) is in parentheses and may itself contain spaces and parentheses,
    so fields are counted from the last ')'.
    """
    rest = text[text.rindex(")") + 2 :].split()
    # rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
    ppid, utime, stime = int(rest[1]), int(rest[11]), int(rest[12])
    return ppid, (utime + stime) / _TICKS


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:  # the process exited between listing and reading
        return None


def parents() -> dict[int, int]:
    """pid → parent pid for every live process."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            text = _read(f"/proc/{entry}/stat")
            if text:
                found[int(entry)] = parse_stat(text)[0]
    return found


def tree(root: int) -> list[int]:
    """`root` and all its live descendants."""
    children: dict[int, list[int]] = {}
    for pid, ppid in parents().items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def leaves(root: int) -> list[int]:
    """The processes of `root`'s tree that have no children (granian's workers, say)."""
    pids = tree(root)
    ppids = parents()
    with_children = {ppids.get(pid) for pid in pids}
    return [pid for pid in pids if pid not in with_children]


def cpu_seconds(pids: Iterable[int]) -> float:
    total = 0.0
    for pid in pids:
        text = _read(f"/proc/{pid}/stat")
        if text:
            total += parse_stat(text)[1]
    return total


def rss_bytes(pids: Iterable[int]) -> int:
    total = 0
    for pid in pids:
        text = _read(f"/proc/{pid}/statm")
        if text:
            total += int(text.split()[1]) * _PAGE
    return total


class TreeMonitor:
    """CPU seconds used by a process tree between start() and stop(), and its peak RSS meanwhile.

    Sampling shares a core with the load generator, so it stays light: the tree's pids are
    listed (a scan of /proc, a few ms) only every `rescan_s`; each sample reads just their statm.
    """

    def __init__(self, root: int, interval_s: float = 0.1, rescan_s: float = 5.0) -> None:
        self.root = root
        self.interval_s = interval_s
        self.rescan_every = max(1, round(rescan_s / interval_s))
        self.peak_rss = 0
        self.start_rss = 0
        self.cpu_s = 0.0
        self._cpu0 = 0.0
        self._pids: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)

    def start(self) -> TreeMonitor:
        self._pids = tree(self.root)
        self._cpu0 = cpu_seconds(self._pids)
        self.start_rss = self.peak_rss = rss_bytes(self._pids)
        self._thread.start()
        return self

    def _sample(self) -> None:
        samples = 0
        while not self._stop.wait(self.interval_s):
            samples += 1
            if samples % self.rescan_every == 0:
                self._pids = tree(self.root)
            self.peak_rss = max(self.peak_rss, rss_bytes(self._pids))

    def stop(self) -> TreeMonitor:
        self._stop.set()
        self._thread.join()
        pids = tree(self.root)
        self.peak_rss = max(self.peak_rss, rss_bytes(pids))
        self.cpu_s = cpu_seconds(pids) - self._cpu0
        return self


def fd_count(pids: Iterable[int]) -> int:
    """Open file descriptors summed over `pids` (sockets, files, pipes, eventfds alike)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):  # exited, or not ours to read
            total += len(os.listdir(f"/proc/{pid}/fd"))
    return total


def socket_inodes(pids: Iterable[int]) -> set[int]:
    """The inodes of the sockets `pids` hold open (an fd's link reads `socket:[INODE]`)."""
    inodes = set()
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:  # closed between listing and reading
                continue
            if link.startswith("socket:["):
                inodes.add(int(link[8:-1]))
    return inodes
