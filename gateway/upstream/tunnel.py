"""A CONNECT tunnel through an HTTP proxy: a socket the pool then opens its connection on (TLS with
the upstream included), as if it were connected to the upstream itself."""

from __future__ import annotations

import asyncio
import socket

from .egress import Proxy
from .errors import ConnectError

__all__ = ["open_tunnel"]

_MAX_HEAD = 16 * 1024  # a proxy's answer to CONNECT is a status line and a few headers


async def open_tunnel(
    loop: asyncio.AbstractEventLoop, proxy_addr: str, proxy: Proxy, host: str, port: int
) -> socket.socket:
    """A connected socket through which bytes reach `host:port`. OSError when the proxy cannot be
    reached; ConnectError when it refuses the tunnel (its status says why)."""
    family = socket.AF_INET6 if ":" in proxy_addr else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        await loop.sock_connect(sock, (proxy_addr, proxy.port))
        name = host.encode("idna").decode("ascii") if not host.isascii() else host
        authority = f"[{name}]:{port}" if ":" in name else f"{name}:{port}"
        head = f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n"
        if proxy.authorization:
            head += f"Proxy-Authorization: {proxy.authorization}\r\n"
        await loop.sock_sendall(sock, (head + "\r\n").encode("latin-1"))
        answer = await _read_head(loop, sock)
        status_line = answer.split(b"\r\n", 1)[0].decode("latin-1")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or parts[1] != "200":
            raise ConnectError(f"{proxy!r} refused the tunnel to {authority}: {status_line!r}")
        return sock
    except BaseException:
        sock.close()
        raise


async def _read_head(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> bytes:
    """The proxy's answer head. A proxy answers CONNECT and then sends nothing until the client
    speaks through the tunnel, so everything read is the head; bytes after its end mean a broken
    proxy."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = await loop.sock_recv(sock, 4096)
        if not chunk:
            raise ConnectionResetError("the proxy closed the connection before answering CONNECT")
        data += chunk
        if len(data) > _MAX_HEAD:
            raise ConnectError("the proxy's answer to CONNECT is not HTTP")
    head, _, rest = data.partition(b"\r\n\r\n")
    if rest:
        raise ConnectError("the proxy sent bytes after its answer to CONNECT before the tunnel was used")
    return head
