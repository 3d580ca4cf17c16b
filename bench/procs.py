"""Child processes of a benchmark run, stopped cleanly whatever happens.

Every child runs in its own session, so a Ctrl-C in the terminal reaches only the harness, which
then stops the children in reverse start order: SIGTERM to the child, a bounded wait, then SIGKILL
to its whole process group. As a backstop, each child asks the kernel for SIGTERM should the
harness die without cleaning up (PR_SET_PDEATHSIG survives the `taskset` exec).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

_PR_SET_PDEATHSIG = 1


class StartError(RuntimeError):
    """A child did not become ready; the message ends with the tail of its log."""


def _child_setup() -> None:
    os.setsid()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def pinned(argv: Sequence[str], cores: str | None) -> list[str]:
    """Prefix `taskset -c CORES` so the process and every thread and child it makes stay there."""
    return ["taskset", "-c", cores, *argv] if cores else list(argv)


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A port free now and not handed out before by this process: the kernel may give the same
    port to two binds made one after the other, and two servers told one port collide."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def wait_for_port(port: int, timeout_s: float, alive: Callable[[], bool] = lambda: True) -> bool:
    """True once 127.0.0.1:port accepts a connection; False on timeout or when `alive()` fails."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and alive():
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.02)  # polling a port that is not bound yet
    return False


class Child:
    """One started process; its stdout and stderr go, line by line, to `log_path`."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        log_path: Path,
        env: dict[str, str] | None,
        cwd: Path | None,
        stdout_path: Path | None = None,
    ) -> None:
        self.name = name
        self.log_path = log_path
        self._lines: list[str] = []
        self._new_line = threading.Condition()
        # `stdout_path`: stdout straight to that file (a busy access log never passes through this
        # process), stderr alone to the log.
        stdout = stdout_path.open("wb") if stdout_path is not None else None
        self.popen = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=stdout or subprocess.PIPE,
            stderr=subprocess.PIPE if stdout else subprocess.STDOUT,
            text=True,
            env=env,
            cwd=cwd,
            preexec_fn=_child_setup,  # only setsid and prctl run there
        )
        if stdout is not None:
            stdout.close()  # the child has its own descriptor
        self._output = self.popen.stderr if stdout else self.popen.stdout
        self._reader = threading.Thread(target=self._read, name=f"log-{name}", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def _read(self) -> None:
        assert self._output is not None
        with self.log_path.open("w") as log:
            for line in self._output:
                log.write(line)
                log.flush()
                with self._new_line:
                    self._lines.append(line.rstrip("\n"))
                    self._new_line.notify_all()
        with self._new_line:
            self._new_line.notify_all()

    def wait_for_line(self, predicate: Callable[[str], bool], timeout_s: float) -> str:
        """The first output line matching `predicate`; StartError if the child exits or times out."""
        deadline = time.monotonic() + timeout_s
        seen = 0
        with self._new_line:
            while True:
                for line in self._lines[seen:]:
                    if predicate(line):
                        return line
                seen = len(self._lines)
                if not self._reader.is_alive():
                    raise StartError(f"{self.name} exited (status {self.popen.poll()}){self.tail()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise StartError(f"{self.name} was not ready within {timeout_s:g}s{self.tail()}")
                self._new_line.wait(left)

    def count_lines(self, predicate: Callable[[str], bool]) -> int:
        """How many of its output lines so far match `predicate`."""
        with self._new_line:
            return sum(1 for line in self._lines if predicate(line))

    def tail(self, lines: int = 15) -> str:
        text = "\n".join(self._lines[-lines:])
        return f"; last output:\n{text}" if text else f"; no output (log: {self.log_path})"

    def stop(self, timeout_s: float = 15) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout_s)
        # Whatever is left of its session (workers of a killed master, for instance) goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(5)
        self._reader.join(5)


class Processes:
    """Owns the children of one run: `with Processes(log_dir) as procs: procs.start(...)`."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.children: list[Child] = []

    def start(
        self, name: str, argv: list[str], env: dict[str, str] | None = None, stdout_path: Path | None = None
    ) -> Child:
        # Started in the run's directory: a `gateway/` in the caller's directory must not shadow
        # the package under test (`python -m` puts the working directory first on sys.path).
        child = Child(
            name, argv, self.log_dir / f"{name}.log", env, cwd=self.log_dir, stdout_path=stdout_path
        )
        self.children.append(child)
        return child

    def stop_all(self) -> None:
        # A second Ctrl-C must not cut the cleanup short.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            while self.children:
                self.children.pop().stop()
        finally:
            signal.signal(signal.SIGINT, previous)

    def __enter__(self) -> Processes:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop_all()
