"""A small, fast HTTP/1.1 client for talking to LLM providers.

Pooled keep-alive connections on asyncio.Protocol with httptools (llhttp) parsing:

    pool = Pool(max_connections_per_origin=64)             # once per worker, inside its loop
    origin = Origin.from_url("https://api.openai.com/v1")  # once per provider
    block = encode_headers([(b"authorization", b"Bearer sk-..."), (b"content-type", b"application/json")])
    async with await pool.request(origin, b"POST", b"/chat/completions", block, body,
                                  read_timeout=60) as resp:
        data = await resp.read()            # or: async for chunk in resp: ...
                                            # or: await resp.pipe(sink), sink(chunk) called
                                            #     in the read callback as chunks arrive

Every failure is an `UpstreamError`: `ConnectError`, `UpstreamTimeout` or `ProtocolError`.
"""

from .errors import ConnectError, ProtocolError, UpstreamError, UpstreamTimeout
from .origin import Origin, encode_headers
from .pool import Pool
from .response import Headers, Response

__all__ = [
    "ConnectError",
    "Headers",
    "Origin",
    "Pool",
    "ProtocolError",
    "Response",
    "UpstreamError",
    "UpstreamTimeout",
    "encode_headers",
]
