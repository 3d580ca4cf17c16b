"""A provider key's secret given to `aigw upstream-keys add|rotate`: a hidden prompt in a
terminal, stdin in a pipe, or a file; never echoed, and an empty one refused before any call."""

from __future__ import annotations

import os
import pty
import select
import sys
import time
from pathlib import Path

from tests.e2e.conftest import ADMIN_TOKEN, Gateway

from .conftest import admin_cli

SECRET = "sk-typed-at-the-prompt"


def in_terminal(argv: list[str], answer: str) -> tuple[int, bytes]:
    """Run argv with a pseudo-terminal as its controlling terminal; type `answer` once it
    prompts. Returns the exit code and everything the terminal showed."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the terminal is its stdin, stdout, stderr and /dev/tty
        os.environ["AIGW_ADMIN_TOKEN"] = ADMIN_TOKEN
        os.execv(sys.executable, [sys.executable, "-m", "gateway", *argv])
    shown = b""
    answered = False
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
        if not answered and b"(not echoed): " in shown:
            os.write(fd, answer.encode() + b"\n")
            answered = True
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), shown


def test_the_secret_is_read_at_a_hidden_prompt(gateway: Gateway):
    argv = ["upstream-keys", "add", "mock", "typed", "--config", str(gateway.config)]
    code, shown = in_terminal(argv, SECRET)
    assert code == 0, shown
    assert b"secret of mock/typed (not echoed): " in shown
    assert b"added mock/typed" in shown
    assert SECRET.encode() not in shown
    assert admin_cli(gateway, "upstream-keys", "remove", "mock", "typed").returncode == 0


def test_the_secret_from_stdin_or_a_file(gateway: Gateway, tmp_path: Path):
    out = admin_cli(gateway, "upstream-keys", "add", "mock", "piped", stdin="sk-piped\n")
    assert (out.returncode, out.stdout) == (0, "added mock/piped\n"), out.stderr
    (tmp_path / "secret").write_text("sk-from-a-file\n")
    from_file = ("--from-file", str(tmp_path / "secret"))
    out = admin_cli(gateway, "upstream-keys", "rotate", "mock", "piped", *from_file)
    assert (out.returncode, out.stdout) == (0, "rotated mock/piped\n"), out.stderr
    listed = admin_cli(gateway, "upstream-keys", "list").stdout
    assert "mock/piped" in listed and "sk-" not in listed
    assert admin_cli(gateway, "upstream-keys", "remove", "mock", "piped").returncode == 0


def test_an_empty_secret_gets_a_clear_message_and_no_call(gateway: Gateway):
    out = admin_cli(gateway, "upstream-keys", "add", "mock", "blank", stdin="\n")
    assert out.returncode == 2
    assert out.stderr == (
        "aigw: the secret of mock/blank from stdin is empty: type it at the prompt, pipe it on stdin, "
        "or use --from-file PATH or --from-env VAR\n"
    )
    assert "mock/blank" not in admin_cli(gateway, "upstream-keys", "list").stdout
