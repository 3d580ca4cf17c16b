"""deploy/lb's nginx.conf and haproxy.cfg run for real in front of local nodes. Only what must
differ on one machine is changed, and each change must match the shipped file exactly once: the
nodes' addresses (and, for HAProxy, each node's admin port for its /ready check), the listening
port, HAProxy's runtime socket and nginx's pid file."""

from __future__ import annotations

import csv
import io
import re
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.install import find_command
from bench.procs import wait_for_port

from .install import ROOT

LB = ROOT / "deploy" / "lb"


@dataclass(frozen=True)
class Backend:
    port: int
    admin_port: int


def substitute(text: str, pattern: str, replacement: str, count: int = 1) -> str:
    new, found = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    assert found == count, f"{pattern!r} matched {found} times in the shipped config, expected {count}"
    return new


def server_lines(text: str, pattern: str, lines: Sequence[str]) -> str:
    """The shipped `server` lines (all matching `pattern`) replaced by `lines`, in place."""
    found = list(re.finditer(pattern, text, flags=re.MULTILINE))
    assert len(found) == 3, f"expected the three shipped server lines, found {len(found)}"
    indent = re.match(r"\s*", found[0].group(0)).group(0)  # type: ignore[union-attr]
    block = "\n".join(indent + line for line in lines)
    return text[: found[0].start()] + block + text[found[-1].end() :]


class Balancer:
    name: str

    def __init__(self, directory: Path, port: int, argv: list[str]):
        self.directory, self.port = directory, port
        self.log = (directory / f"{self.name}.log").open("w")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        if not wait_for_port(port, 30, alive=lambda: self.proc.poll() is None):
            self.stop()
            raise AssertionError(f"{self.name} did not start: {(directory / f'{self.name}.log').read_text()}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def out_of_rotation(self, backend: Backend, in_flight: int) -> bool:
        raise NotImplementedError

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


class Nginx(Balancer):
    name = "nginx"

    def __init__(self, directory: Path, port: int, backends: Sequence[Backend]):
        text = (LB / "nginx.conf").read_text()
        text = server_lines(
            text,
            r"^\s*server aigw\d:8080 (.*);$",
            [f"server 127.0.0.1:{b.port} max_fails=1 fail_timeout=5s;" for b in backends],
        )
        text = substitute(text, r"^(\s*)listen 8080;$", rf"\1listen 127.0.0.1:{port};")
        config = directory / "nginx.conf"
        config.write_text(text)
        nginx = find_command("nginx")
        assert nginx, "nginx is installed by make test"
        pid = f"pid {directory / 'nginx.pid'}; daemon off;"
        super().__init__(directory, port, [nginx, "-p", str(directory), "-c", str(config), "-g", pid])

    def out_of_rotation(self, backend: Backend, in_flight: int) -> bool:
        """nginx checks passively: a node is out once it refuses connections and nginx holds no
        connection to it but those carrying its `in_flight` requests (no idle keep-alive one that
        it could pick for a new request)."""
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", backend.port)) == 0:
                return False
        return connections_to(backend.port) == in_flight


class HAProxy(Balancer):
    name = "haproxy"

    def __init__(self, directory: Path, port: int, backends: Sequence[Backend]):
        text = (LB / "haproxy.cfg").read_text()
        # Every node's admin listener has a port of its own here: the check port, per server.
        self.servers = {f"aigw{i}": b for i, b in enumerate(backends, 1)}
        text = server_lines(
            text,
            r"^\s*server aigw\d aigw\d:8080$",
            [f"server {name} 127.0.0.1:{b.port} port {b.admin_port}" for name, b in self.servers.items()],
        )
        text = substitute(text, r"^(\s*)bind :8080$", rf"\1bind 127.0.0.1:{port}")
        self.socket = directory / "admin.sock"
        text = substitute(text, r"stats socket /run/haproxy/admin\.sock", f"stats socket {self.socket}")
        config = directory / "haproxy.cfg"
        config.write_text(text)
        haproxy = find_command("haproxy")
        assert haproxy, "haproxy is installed by make test"
        super().__init__(directory, port, [haproxy, "-db", "-f", str(config)])

    def states(self) -> dict[str, str]:
        """Each server's status (UP, DOWN, DRAIN ...) from the runtime API."""
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(self.socket))
            s.sendall(b"show stat\n")
            data = b"".join(iter(lambda: s.recv(65536), b""))
        rows = csv.DictReader(io.StringIO(data.decode().lstrip("# ")))
        return {row["svname"]: row["status"] for row in rows if row["svname"] in self.servers}

    def wait_all_up(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                states = self.states()
            except (FileNotFoundError, ConnectionRefusedError) as exc:  # the socket comes up last
                states = {"runtime API": repr(exc)}
            if states and all(v == "UP" for v in states.values()):
                return
            assert time.monotonic() < deadline, states
            time.sleep(0.1)  # polling health checks that run every second

    def out_of_rotation(self, backend: Backend, in_flight: int) -> bool:
        server = next(k for k, b in self.servers.items() if b == backend)
        return self.states()[server].startswith("DOWN")


def connections_to(port: int) -> int:
    """Sockets of this machine connected to 127.0.0.1:`port` that are still open on this side
    (ESTABLISHED, or CLOSE_WAIT: closed by the peer, not yet by its owner)."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote, state = fields[2], fields[3]
        if int(remote.split(":")[1], 16) == port and state in ("01", "08"):
            count += 1
    return count
