"""Token usage out of an OpenAI-format response body or SSE chunk, by scanning bytes (the relay
does not decode responses it passes through)."""

from __future__ import annotations

import re

from .. import native

_USAGE = b'"usage"'
_NULL = re.compile(rb"[ :]*null")
_DIGITS = re.compile(rb" *(\d+)")
_PROMPT = b'"prompt_tokens":'
_COMPLETION = b'"completion_tokens":'
_CACHED = b'"cached_tokens":'


def openai_usage(data: bytes) -> tuple[int, int, int] | None:
    """(prompt, completion, cached) from the last `"usage"` object in `data`; None when there is
    none (or it is null, as in stream chunks before the last). Embeddings have no completion.
    Each count is the first `"name":` after `"usage"`, then spaces, then digits (runs once per
    response: finds and matches in C, no Python loop over bytes)."""
    at = data.rfind(_USAGE)
    if at < 0:
        return None
    at += len(_USAGE)
    if _NULL.match(data, at):
        return None
    match = _DIGITS.match
    i = data.find(_PROMPT, at)
    m = match(data, i + len(_PROMPT)) if i >= 0 else None
    prompt = int(m[1]) if m else None
    i = data.find(_COMPLETION, at)
    m = match(data, i + len(_COMPLETION)) if i >= 0 else None
    completion = int(m[1]) if m else None
    if prompt is None and completion is None:
        return None
    i = data.find(_CACHED, at)
    m = match(data, i + len(_CACHED)) if i >= 0 else None
    return prompt or 0, completion or 0, int(m[1]) if m else 0


# The compiled scan (_native/usage.pxi) gives the same answers; this module stays its reference.
reference_openai_usage = openai_usage
if native.ENABLED:
    from .._native import openai_usage
