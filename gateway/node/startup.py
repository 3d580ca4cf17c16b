"""What `aigw serve` checks before it starts anything, so a node that cannot run says why in one
line, naming the address or file and the fix, instead of a child's traceback.

The data port matters most: granian opens it with SO_REUSEPORT, which lets a second node bind
the port of a running one and silently take half its connections. A plain bind (SO_REUSEADDR
only) fails while any process listens there, so it finds both another program and another aigw.
"""

from __future__ import annotations

import errno
import re
import socket
import sqlite3
from pathlib import Path

from ..config.schema import Config
from ..store import Store, default_store_path, open_store


class StartupError(Exception):
    """The node cannot start; the message is one line: what, where, and what to do."""


DATA_PLANE = ("the data plane", "--port or server.port")
ADMIN = ("the admin listener", "--admin-port or server.admin_port")


def check_ports(cfg: Config) -> None:
    """Both listeners' addresses are free to listen on (port 0: the system picks one)."""
    s = cfg.server
    check_listen(s.host, s.port, DATA_PLANE)
    check_listen(s.admin_host, s.admin_port, ADMIN)


def check_listen(host: str, port: int, listener: tuple[str, str]) -> None:
    if port == 0:
        return
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise listen_error(host, port, listener, exc) from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
            probe.listen(1)
        except OSError as exc:
            raise listen_error(host, port, listener, exc) from None


def listen_error(host: str, port: int, listener: tuple[str, str], exc: OSError) -> StartupError:
    what, setting = listener
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return StartupError(f"{what} cannot listen on {where}: {_why(exc, setting)}")


def _why(exc: OSError, setting: str) -> str:
    if isinstance(exc, socket.gaierror):
        return f"{exc.strerror}; check server.host / server.admin_host"
    if exc.errno == errno.EADDRINUSE:
        return (
            "the address is in use (another aigw node, or another program, listens there); "
            f"stop it, or choose another port with {setting}"
        )
    if exc.errno == errno.EACCES:
        return (
            "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE); "
            f"choose a port above 1023 with {setting}"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return "no interface of this machine has that address; check server.host / server.admin_host"
    return f"{exc.strerror or exc}"


def open_node_store(url: str, path: str) -> Store:
    """The store (PostgreSQL at `url`, else SQLite at `path`), or a StartupError saying why it
    cannot be opened for writing."""
    try:
        return open_store(url=url, path=path)
    except (OSError, sqlite3.Error) as exc:
        where = (
            re.sub(r":[^:@/]*@", ":***@", url)
            if url
            else Path(path).absolute()
            if path
            else default_store_path()
        )
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        if isinstance(exc, OSError) and exc.filename and str(exc.filename) != str(where):
            reason += f" ({exc.filename})"  # its directory, say, is a file
        fix = (
            "check store.url and that the database accepts this node"
            if url
            else ("make its directory writable by this user, or point store.path (or AIGW_HOME) elsewhere")
        )
        raise StartupError(f"cannot open the store at {where}: {reason}; {fix}") from None
