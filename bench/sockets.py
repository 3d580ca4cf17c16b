"""Which TCP connections a process tree holds, and to whom: the tree's socket inodes matched
against the kernel's TCP tables (/proc/net/tcp and tcp6)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from .procstat import socket_inodes

_LISTEN = "0A"  # st column of /proc/net/tcp


@dataclass(frozen=True)
class TcpSocket:
    local_port: int
    remote_port: int
    listening: bool


def parse_tcp_table(text: str) -> dict[int, TcpSocket]:
    """inode → socket, from the text of /proc/net/tcp or /proc/net/tcp6."""
    found = {}
    for line in text.splitlines()[1:]:  # the first line names the columns
        fields = line.split()
        if len(fields) < 10:
            continue
        local, remote, state, inode = fields[1], fields[2], fields[3], int(fields[9])
        found[inode] = TcpSocket(
            local_port=int(local.rsplit(":", 1)[1], 16),
            remote_port=int(remote.rsplit(":", 1)[1], 16),
            listening=state == _LISTEN,
        )
    return found


def tcp_sockets() -> dict[int, TcpSocket]:
    found: dict[int, TcpSocket] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                found.update(parse_tcp_table(f.read()))
        except OSError:  # no IPv6 on this machine
            pass
    return found


def connections(pids: Iterable[int], server_port: int, upstream_ports: Collection[int]) -> dict[str, int]:
    """The connections `pids` hold: from callers (accepted on `server_port`) and to upstreams."""
    table = tcp_sockets()
    held = [table[i] for i in socket_inodes(pids) if i in table]
    return {
        "callers": sum(1 for s in held if not s.listening and s.local_port == server_port),
        "upstreams": sum(1 for s in held if not s.listening and s.remote_port in upstream_ports),
    }
