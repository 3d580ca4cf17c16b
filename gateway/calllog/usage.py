"""Token usage out of an OpenAI-format response body or SSE chunk, by scanning bytes (the relay
does not decode responses it passes through)."""

from __future__ import annotations

import re

_USAGE = b'"usage"'
# The three counts, each `"name":` then optional spaces then its digits (none: not a number).
# Runs once per response: one regex pass over the usage object instead of three finds.
_FIELD = re.compile(rb'"(prompt_tokens|completion_tokens|cached_tokens)": *(\d*)')
_NULL = re.compile(rb"[ :]*null")


def openai_usage(data: bytes) -> tuple[int, int, int] | None:
    """(prompt, completion, cached) from the last `"usage"` object in `data`; None when there is
    none (or it is null, as in stream chunks before the last). Embeddings have no completion."""
    at = data.rfind(_USAGE)
    if at < 0:
        return None
    at += len(_USAGE)
    if _NULL.match(data, at):
        return None
    found: dict[bytes, bytes] = {}
    for m in _FIELD.finditer(data, at):
        found.setdefault(m[1], m[2])  # the first of each name counts
    prompt = found.get(b"prompt_tokens")
    completion = found.get(b"completion_tokens")
    if not prompt and not completion:  # absent, or not followed by a number
        return None
    cached = found.get(b"cached_tokens")
    return int(prompt or 0), int(completion or 0), int(cached or 0)
