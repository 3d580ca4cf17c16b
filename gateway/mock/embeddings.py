"""`POST /v1/embeddings`: deterministic unit vectors from a hash of each input, as float32.

Float and base64 answers decode to the same numbers (base64 is float32, little-endian).
"""

from __future__ import annotations

import array
import base64
import functools
import hashlib
import math
import sys
import time
from typing import TYPE_CHECKING

import msgspec

from . import schemas
from .errors import invalid, out_of_range

if TYPE_CHECKING:
    from .http import Request
    from .server import MockServer

_DEFAULT_DIMENSIONS = 8
_encode = msgspec.json.Encoder().encode


def _words(text: str) -> int:
    return len(text.split())


@functools.lru_cache(maxsize=256)
def _embedding(text: str, dims: int) -> tuple[list[float], str]:
    """Deterministic unit vector from a hash of the text, as float32 (base64 is float32 LE)."""
    raw = array.array("H", hashlib.shake_256(text.encode()).digest(2 * dims))
    if sys.byteorder == "big":
        raw.byteswap()
    vec = [v / 32767.5 - 1.0 for v in raw]
    norm = math.sqrt(math.fsum(v * v for v in vec)) or 1.0
    f32 = array.array("f", [v / norm for v in vec])
    floats = f32.tolist()  # float32-exact, so float and base64 responses decode identically
    if sys.byteorder == "big":
        f32.byteswap()
    return floats, base64.b64encode(f32.tobytes()).decode()


def embeddings(state: MockServer, req: Request, label: str) -> bytes:
    body = schemas.read(schemas.EMBEDDING, req.body)
    if isinstance(body, tuple):
        return state.json_response(req, *body)
    fmt = body.encoding_format or "float"
    if fmt not in ("float", "base64"):
        err = invalid(
            f"Invalid value for 'encoding_format': expected one of 'float' or 'base64', got '{fmt}'.",
            "encoding_format",
            "invalid_value",
        )
        return state.json_response(req, *err)
    dims = _DEFAULT_DIMENSIONS if body.dimensions is None else body.dimensions
    bad = out_of_range("dimensions", dims, 1, 8192)
    if bad is not None:
        return state.json_response(req, *bad)
    inputs = _embedding_inputs(body.input)
    if inputs is None:
        msg = "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference."
        return state.json_response(req, *invalid(msg, "input"))
    tokens = max(1, sum(t for _, t in inputs))
    now = time.monotonic()
    refused = state.admit(req, label, body.model, tokens, now)
    if refused is not None:
        return refused
    pick = 1 if fmt == "base64" else 0
    out = _encode(
        {
            "object": "list",
            "data": [
                {"object": "embedding", "index": i, "embedding": _embedding(text, dims)[pick]}
                for i, (text, _) in enumerate(inputs)
            ],
            "model": body.model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )
    return state.json_response(req, 200, out, state.ratelimit_headers(label, now))


def _embedding_inputs(value: str | list[str | int | list[int]]) -> list[tuple[str, int]] | None:
    """(hash text, token count) per input; accepts a string, strings, a token array or token arrays."""
    if isinstance(value, str):
        return [(value, _words(value))]
    if not value:
        return None
    if all(isinstance(v, int) for v in value):
        return [("tokens:" + ",".join(map(str, value)), len(value))]
    out: list[tuple[str, int]] = []
    for v in value:
        if isinstance(v, str):
            out.append((v, _words(v)))
        elif isinstance(v, list) and v:
            out.append(("tokens:" + ",".join(map(str, v)), len(v)))
        else:
            return None
    return out
