"""What a mock provider is started with: its keys, models, pacing and rate limits."""

from __future__ import annotations

import ssl

import msgspec

from .limits import Limiter

__all__ = ["MockConfig", "MockKey"]


class MockKey(msgspec.Struct):
    value: str
    id: str | None = None  # non-secret label used in /_mock/stats


class MockConfig(msgspec.Struct):
    host: str = "127.0.0.1"
    port: int = 0
    # No keys configured = open mode: any Bearer key is accepted (a key is still required).
    keys: list[MockKey] = msgspec.field(default_factory=list)
    models: list[str] = msgspec.field(default_factory=lambda: ["gpt-4o-mini", "text-embedding-3-small"])
    latency_ms: float = 0
    rpm: int = 0  # per key, 0 = unlimited
    window_s: float = 60.0  # the length of the rate-limit "minute" (shorter in tests)
    tpm: int = 0  # per key, 0 = unlimited
    limiter: Limiter = "continuous"  # how rpm and tpm refill (gateway/mock/limits.py)
    # x-ratelimit-* on every answer, as OpenAI sends; off, a 429's retry-after is all there is
    # (as from many OpenAI-compatible servers).
    limit_headers: bool = True
    stream_chunks: int | None = None
    chunk_interval_ms: float = 0
    # HTTPS: the server's certificate chain and key (PEM); with `client_ca`, callers must present
    # a certificate that CA signed (mutual TLS).
    tls_cert: str = ""
    tls_key: str = ""
    client_ca: str = ""

    def tls(self) -> ssl.SSLContext | None:
        if not self.tls_cert:
            return None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.tls_cert, self.tls_key or None)
        if self.client_ca:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(self.client_ca)
        return ctx
