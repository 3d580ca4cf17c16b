"""`python -m gateway.mock`: run the mock OpenAI provider until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from .config import MockConfig, MockKey
from .limits import LIMITERS
from .server import start_mock_server, stop_mock_server


def _key(spec: str) -> MockKey:
    # "sk-a" or "label=sk-a"; OpenAI keys never contain "=".
    label, sep, value = spec.partition("=")
    return MockKey(value=value, id=label) if sep else MockKey(value=spec)


def parse_args(argv: list[str] | None = None) -> MockConfig:
    p = argparse.ArgumentParser(prog="python -m gateway.mock", description="Mock OpenAI provider.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on stdout)")
    p.add_argument("--key", action="append", type=_key, default=[], help="sk-... or id=sk-...; repeatable")
    p.add_argument("--model", action="append", default=[], help="served model id; repeatable")
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--rpm", type=int, default=0, help="requests per minute per key, 0 = unlimited")
    p.add_argument("--tpm", type=int, default=0, help="tokens per minute per key, 0 = unlimited")
    p.add_argument("--window-s", type=float, default=60.0, help="length of the rate-limit minute (tests)")
    p.add_argument(
        "--limiter",
        choices=LIMITERS,
        default="continuous",
        help="continuous: rpm and tpm refill steadily, as OpenAI's; fixed_window: at once when a window ends",
    )
    p.add_argument(
        "--limit-headers",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="x-ratelimit-* on every answer, as OpenAI (--no-limit-headers: only a 429's retry-after)",
    )
    p.add_argument("--stream-chunks", type=int, default=None)
    p.add_argument("--chunk-interval-ms", type=float, default=0.0)
    p.add_argument("--tls-cert", default="", help="serve HTTPS with this PEM certificate chain")
    p.add_argument("--tls-key", default="", help="its private key (PEM; default: in --tls-cert)")
    p.add_argument("--client-ca", default="", help="require client certificates this CA signed (mTLS)")
    a = p.parse_args(argv)
    cfg = MockConfig(
        host=a.host,
        port=a.port,
        keys=a.key,
        latency_ms=a.latency_ms,
        rpm=a.rpm,
        tpm=a.tpm,
        window_s=a.window_s,
        limiter=a.limiter,
        limit_headers=a.limit_headers,
        stream_chunks=a.stream_chunks,
        chunk_interval_ms=a.chunk_interval_ms,
        tls_cert=a.tls_cert,
        tls_key=a.tls_key,
        client_ca=a.client_ca,
    )
    if a.model:
        cfg.models = a.model
    return cfg


async def _serve(cfg: MockConfig) -> int:
    server, port = await start_mock_server(cfg)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    host = f"[{cfg.host}]" if ":" in cfg.host else cfg.host
    # A certificate names a host, not an address: an HTTPS mock on loopback is `localhost`.
    if cfg.tls_cert and cfg.host in ("127.0.0.1", "::1"):
        host = "localhost"
    # Exactly one line, flushed: launchers wait for it to know the port is bound.
    print(f"mock listening on {'https' if cfg.tls_cert else 'http'}://{host}:{port}", flush=True)
    await stop.wait()
    await stop_mock_server(server)
    return 0


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(argv)
    try:
        import uvloop
    except ImportError:
        return asyncio.run(_serve(cfg))
    return uvloop.run(_serve(cfg))


if __name__ == "__main__":
    sys.exit(main())
