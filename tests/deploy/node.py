"""`aigw serve` as a child process: started, waited for (its banner is printed once the data plane
answers), and stopped with SIGTERM like a process manager does."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path


class Node:
    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        cwd: Path | str = "/",
        user: int | None = None,
        group: int | None = None,
    ):
        self.proc = subprocess.Popen(
            list(argv),
            env=dict(env),
            cwd=cwd,
            stdout=subprocess.PIPE,
            text=True,
            user=user,
            group=group,
            extra_groups=[] if user is not None else None,
        )
        assert self.proc.stdout is not None
        self.banner = self.proc.stdout.readline()
        if "serving the OpenAI API" not in self.banner:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"aigw did not start: {self.banner!r}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def terminate(self) -> None:
        self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = 90) -> int:
        code = self.proc.wait(timeout=timeout)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        return code

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.terminate()
        return self.wait()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.wait()
