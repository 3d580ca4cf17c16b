"""Token usage out of an OpenAI-format response body or SSE chunk, by scanning bytes (the relay
does not decode responses it passes through)."""

from __future__ import annotations

_USAGE = b'"usage"'
_FIELDS = (b'"prompt_tokens":', b'"completion_tokens":', b'"cached_tokens":')


def openai_usage(data: bytes) -> tuple[int, int, int] | None:
    """(prompt, completion, cached) from the last `"usage"` object in `data`; None when there is
    none (or it is null, as in stream chunks before the last). Embeddings have no completion."""
    at = data.rfind(_USAGE)
    if at < 0:
        return None
    tail = data[at:]
    if tail[len(_USAGE) :].lstrip(b" :").startswith(b"null"):
        return None
    prompt, completion, cached = (_number(tail, f) for f in _FIELDS)
    if prompt is None and completion is None:
        return None
    return prompt or 0, completion or 0, cached or 0


def _number(data: bytes, key: bytes) -> int | None:
    at = data.find(key)
    if at < 0:
        return None
    digits = data[at + len(key) : at + len(key) + 24].lstrip(b" ")
    end = 0
    while end < len(digits) and 48 <= digits[end] <= 57:
        end += 1
    return int(digits[:end]) if end else None
