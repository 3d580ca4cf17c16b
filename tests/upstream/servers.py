"""Scriptable HTTP/1.1 test servers on 127.0.0.1 (asyncio streams) and a self-signed certificate.

A test gives a handler `async def handler(peer: Peer)` run once per accepted connection; the
server counts connections and lets the test wait for conditions (no sleeps).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import socket
import ssl
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes


class Peer:
    """One accepted connection, seen from the server."""

    def __init__(self, server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.server = server
        self.reader = reader
        self.writer = writer
        self.requests: list[Request] = []

    async def read_request(self) -> Request | None:
        """The next request, or None once the client has closed the connection."""
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        n = int(headers.get("content-length", "0"))
        body = await self.reader.readexactly(n) if n else b""
        req = Request(method, path, headers, body)
        self.requests.append(req)
        self.server.requests.append(req)
        self.server.changed()
        return req

    async def wait_client_close(self) -> None:
        """Until the client closes its side (reads and drops anything else it sends)."""
        with contextlib.suppress(ConnectionError):
            while await self.reader.read(65536):
                pass

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    def reset(self) -> None:
        """Close with an RST instead of a FIN."""
        sock = self.writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()


Handler = Callable[[Peer], Awaitable[None]]


@dataclass
class Server:
    handler: Handler
    ssl: ssl.SSLContext | None = None
    port: int = 0
    accepted: int = 0  # connections accepted so far
    open_now: int = 0  # connections whose handler has not finished
    max_open: int = 0
    requests: list[Request] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)  # set at teardown: stop stalling
    _server: asyncio.Server | None = None
    _waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = field(default_factory=list)

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl else "http"
        host = "localhost" if self.ssl else "127.0.0.1"
        return f"{scheme}://{host}:{self.port}"

    def changed(self) -> None:
        """Wake the tests waiting on a condition that now holds."""
        for item in list(self._waiters):
            predicate, fut = item
            if fut.done() or predicate():
                self._waiters.remove(item)
                if not fut.done():
                    fut.set_result(None)

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        if predicate():
            return
        fut = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, fut))
        await fut

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self.open_now += 1
        self.max_open = max(self.max_open, self.open_now)
        self.changed()
        try:
            await self.handler(Peer(self, reader, writer))
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            self.open_now -= 1
            self.changed()

    async def __aenter__(self) -> Server:
        self._server = await asyncio.start_server(self._on_connect, "127.0.0.1", 0, ssl=self.ssl)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release.set()
        assert self._server is not None
        self._server.close()
        # Handlers end once `release` is set and clients have closed.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await self.wait_until(lambda: self.open_now == 0)


def response(
    status: int = 200,
    body: bytes = b"",
    headers: list[tuple[str, str]] | None = None,
    *,
    chunks: list[bytes] | None = None,
    framing: str = "length",
) -> bytes:
    """Raw response bytes. framing: "length", "chunked" (body cut into `chunks`), "close", "none"."""
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'X')}"]
    lines += [f"{k}: {v}" for k, v in headers or []]
    if framing == "length":
        lines.append(f"Content-Length: {len(body)}")
        payload = body
    elif framing == "chunked":
        lines.append("Transfer-Encoding: chunked")
        payload = b"".join(encode_chunk(c) for c in (chunks or [body])) + b"0\r\n\r\n"
    else:  # "close": body until the connection closes; "none": no body and no framing header
        payload = body
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


# The head of a 200 whose body follows in chunks (encode_chunk), for handlers that pace them.
CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"


def encode_chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data) if data else b""


_REASONS = {200: "OK", 204: "No Content", 304: "Not Modified", 404: "Not Found", 100: "Continue"}


def keep_alive(answer: Callable[[Request], bytes]) -> Handler:
    """Handler answering every request on a connection with `answer(request)`."""

    async def handler(peer: Peer) -> None:
        while (req := await peer.read_request()) is not None:
            await peer.send(answer(req))

    return handler


@dataclass
class Cert:
    cert: Path
    key: Path

    def server_context(self, seen_sni: list[str | None] | None = None) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        if seen_sni is not None:

            def record(sslobj: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
                seen_sni.append(name)

            ctx.sni_callback = record  # type: ignore[assignment]
        return ctx

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))


def make_cert(tmp: Path) -> Cert:
    """A self-signed certificate for localhost and 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    paths = Cert(tmp / "cert.pem", tmp / "key.pem")
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths
