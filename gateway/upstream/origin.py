"""An upstream origin parsed once from a base URL, plus the request-head encoding it needs.

Everything a request repeats — the Host line, the path prefix, the TLS context, the pool key —
is computed here once, so the hot path only concatenates bytes.
"""

from __future__ import annotations

import ipaddress
from ssl import SSLContext, create_default_context
from urllib.parse import urlsplit

from .egress import Egress, Proxy, proxy_for

__all__ = ["Origin", "encode_headers"]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_FRAMING = frozenset({b"host", b"content-length", b"transfer-encoding"})  # the pool's to write
_default_ssl: SSLContext | None = None


def default_ssl_context() -> SSLContext:
    # Built once per process: loading the CA bundle costs milliseconds.
    global _default_ssl
    if _default_ssl is None:
        ctx = create_default_context()
        ctx.set_alpn_protocols(["http/1.1"])
        _default_ssl = ctx
    return _default_ssl


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class Origin:
    """scheme://host:port plus an optional path prefix (e.g. `/v1`), ready for the wire."""

    __slots__ = (
        "connect_timeout",
        "dns_ttl",
        "host",
        "host_header",
        "is_ip",
        "key",
        "max_connections",
        "path_prefix",
        "port",
        "proxy",
        "scheme",
        "ssl",
    )

    scheme: str
    host: str
    port: int
    ssl: SSLContext | None
    host_header: bytes  # value of the Host header: host[:port], port omitted when default
    path_prefix: bytes  # base URL path without its trailing slash, prepended to every request path
    is_ip: bool  # an IP literal needs no DNS
    proxy: Proxy | None  # connections go through this proxy's CONNECT tunnels
    # None: the pool's own (Pool(connect_timeout=…, max_connections_per_origin=…), 60 s of DNS).
    connect_timeout: float | None
    dns_ttl: float | None
    max_connections: int | None
    key: str  # connections are pooled per key; equal keys connect identically

    @classmethod
    def from_url(
        cls, base_url: str, *, ssl_context: SSLContext | None = None, egress: Egress | None = None
    ) -> Origin:
        """Parse `http(s)://host[:port][/prefix]`; `ssl_context` overrides the default for https,
        as does the context of `egress` (a CA bundle, a client certificate), which also says how
        connections are made (a proxy, the connect timeout, the DNS TTL, how many)."""
        parts = urlsplit(base_url)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            raise ValueError(f"upstream URL must be http:// or https://, got {base_url!r}")
        if not parts.hostname:
            raise ValueError(f"upstream URL has no host: {base_url!r}")
        if parts.username is not None or parts.password is not None:
            raise ValueError("upstream URL must not carry credentials; send them as a header")
        if parts.query or parts.fragment:
            raise ValueError(f"upstream base URL must not have a query or fragment: {base_url!r}")
        egress = egress or _DIRECT_DEFAULTS
        ssl_context = ssl_context or (egress.tls() if scheme == "https" else None)
        if ssl_context is not None and scheme != "https":
            raise ValueError("ssl_context given for a plain http:// origin")
        self = cls.__new__(cls)
        self.scheme = scheme
        self.host = parts.hostname.lower()
        self.proxy = proxy_for(scheme, self.host, egress.proxy)
        self.connect_timeout = egress.connect_timeout_s
        self.dns_ttl = egress.dns_ttl_s
        self.max_connections = egress.max_connections
        default_port = _DEFAULT_PORTS[scheme]
        self.port = parts.port or default_port  # urlsplit raises ValueError on a bad port
        self.is_ip = _is_ip(self.host)
        host = f"[{self.host}]" if ":" in self.host else self.host  # IPv6 literal
        self.host_header = (host if self.port == default_port else f"{host}:{self.port}").encode("idna")
        self.path_prefix = parts.path.rstrip("/").encode("ascii")
        if scheme == "https":
            self.ssl = ssl_context or default_ssl_context()
        else:
            self.ssl = None
        # A custom context, a proxy or other connection settings must not share connections made
        # under others.
        ctx_id = "" if ssl_context is None else f"#{id(ssl_context)}"
        via = "" if self.proxy is None else f"@{self.proxy.host}:{self.proxy.port}#{hash(self.proxy)}"
        settings = (self.connect_timeout, self.dns_ttl, self.max_connections)
        tuned = "" if settings == (None, None, None) else f"#{settings}"
        self.key = f"{scheme}://{host}:{self.port}{ctx_id}{via}{tuned}"
        return self

    def __repr__(self) -> str:
        return f"Origin({self.scheme}://{self.host_header.decode()}{self.path_prefix.decode()})"


_DIRECT_DEFAULTS = Egress()


def encode_headers(headers: list[tuple[bytes, bytes]] | list[tuple[str, str]]) -> bytes:
    """Encode header pairs into a block (`Name: value\\r\\n` per pair) to pass to `Pool.request`.

    Do this once per target and reuse the bytes. `Host` and `Content-Length` are written by the
    pool and must not be included. CR/LF in a name or value is refused (header injection).
    """
    lines = []
    for name, value in headers:
        n = name.encode("latin-1") if isinstance(name, str) else name
        v = value.encode("latin-1") if isinstance(value, str) else value
        if not n or b"\r" in n or b"\n" in n or b":" in n or b" " in n or b"\r" in v or b"\n" in v:
            raise ValueError(f"invalid header {n!r}")
        if n.lower() in _FRAMING:
            raise ValueError(f"{n.decode('latin-1')} is written by the pool, not the caller")
        lines.append(b"%s: %s\r\n" % (n, v))
    return b"".join(lines)
