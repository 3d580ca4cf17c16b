"""How connections to one upstream are made: through which proxy, trusting which CAs, with which
client certificate, how long a connect may take, how long a resolved name is reused, and how many
connections one worker keeps open to it.

A proxy is used as a tunnel: the connection to it is a plain TCP one, a `CONNECT host:port`
opens the tunnel, and everything after (TLS with the upstream, then HTTP) goes through it as it
would go direct — so the proxy sees the upstream's name and port, never a request or a key.
"""

from __future__ import annotations

import base64
import os
import ssl
import urllib.request
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

__all__ = ["DIRECT", "Egress", "Proxy", "proxy_for", "ssl_context"]

DIRECT = "direct"  # a provider's `proxy` that turns the environment's proxy off


@dataclass(frozen=True)
class Proxy:
    """An HTTP proxy that opens CONNECT tunnels; `authorization` is its Proxy-Authorization value."""

    host: str
    port: int
    authorization: str = ""

    @classmethod
    def from_url(cls, url: str) -> Proxy:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        if parts.scheme != "http":
            raise ValueError(
                f"a proxy must be an http:// URL (it opens CONNECT tunnels), got {parts.scheme}://"
            )
        if not parts.hostname:
            raise ValueError("the proxy URL has no host")
        authorization = ""
        if parts.username is not None:
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            authorization = "Basic " + base64.b64encode(pair.encode()).decode()
        return cls(parts.hostname, parts.port or 80, authorization)

    def __repr__(self) -> str:
        # Never the credentials.
        return f"Proxy(http://{self.host}:{self.port})"


def proxy_for(scheme: str, host: str, configured: str | None) -> Proxy | None:
    """The proxy to reach `host` over `scheme` through: the configured one (`direct`: none), else
    the environment's (`HTTPS_PROXY` / `HTTP_PROXY`, either case) unless `NO_PROXY` names the host."""
    if configured == DIRECT:
        return None
    if configured:
        return Proxy.from_url(configured)
    url = urllib.request.getproxies_environment().get(scheme)
    if not url or urllib.request.proxy_bypass_environment(host):  # type: ignore[attr-defined]
        return None
    return Proxy.from_url(url)


@dataclass(frozen=True)
class Egress:
    """One provider's way out. `proxy`: a proxy URL, `direct`, or None for the environment's (see
    proxy_for). `None` and empty values otherwise: the pool's defaults, the system's CAs, no
    client certificate."""

    proxy: str | None = None
    ca_bundle: str = ""
    client_cert: str = ""
    client_key: str = ""
    connect_timeout_s: float | None = None
    dns_ttl_s: float | None = None
    max_connections: int | None = None

    def tls(self) -> ssl.SSLContext | None:
        """The TLS context for https origins: None when the defaults serve."""
        if not (self.ca_bundle or self.client_cert):
            return None
        return ssl_context(self.ca_bundle, self.client_cert, self.client_key)


# (files, their sizes and modification times) -> context: origins rebuilt with the same files (a
# reload) share a context, so their connections are reused; a file replaced on disk is read anew.
_contexts: dict[tuple[object, ...], ssl.SSLContext] = {}


def ssl_context(ca_bundle: str = "", client_cert: str = "", client_key: str = "") -> ssl.SSLContext:
    """A client TLS context trusting `ca_bundle` (instead of the system's CAs) when given, and
    presenting `client_cert` with `client_key` (mTLS) when given. Raises ValueError naming the
    file that cannot be used."""
    files = [f for f in (ca_bundle, client_cert, client_key) if f]
    try:
        stamp = tuple((f, os.stat(f).st_mtime_ns, os.stat(f).st_size) for f in files)
    except OSError as exc:
        raise ValueError(f"cannot read {exc.filename}: {exc.strerror}") from None
    key = (ca_bundle, client_cert, client_key, stamp)
    ctx = _contexts.get(key)
    if ctx is not None:
        return ctx
    try:
        ctx = ssl.create_default_context(cafile=ca_bundle or None)
    except (ssl.SSLError, OSError) as exc:
        raise ValueError(f"{ca_bundle}: not a PEM bundle of CA certificates ({exc})") from None
    if client_cert:
        try:
            ctx.load_cert_chain(client_cert, client_key or None)
        except (ssl.SSLError, OSError) as exc:
            raise ValueError(
                f"{client_cert} with {client_key or 'its own key'}: not a PEM certificate and its "
                f"unencrypted private key ({exc})"
            ) from None
    ctx.set_alpn_protocols(["http/1.1"])
    _contexts[key] = ctx
    return ctx
