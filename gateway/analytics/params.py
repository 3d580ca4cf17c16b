"""Turn the text of query parameters and CLI options into call-log filters (shared by the admin
API and the CLI, so both accept the same spellings and refuse the same mistakes)."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import cast

from ..calllog.rollup import DIMENSIONS, GRAINS, Dimension
from ..calllog.store import CallFilter
from ..durations import parse_span

_STATUS_CLASS = re.compile(r"^([1-5])xx$")
# Filters that match a field exactly; "key" is accepted for key_id.
_EXACT = ("tenant", "app", "key_id", "model", "provider", "upstream_key", "request_id")
# A search is a scan of the range's rows with a LIKE per word and field: keep it bounded.
MAX_SEARCH = 200
MAX_SEARCH_WORDS = 8


def parse_time(text: str, now: float | None = None) -> float:
    """'15m', '2h', '7d' (that long ago), Unix seconds, or an ISO 8601 time (UTC unless it says)."""
    now = time.time() if now is None else now
    text = text.strip()
    if not text.replace(".", "", 1).isdigit():  # a bare number is a Unix time, not a span
        ago = parse_span(text)
        if ago is not None:
            return now - ago
    try:
        return float(text)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"invalid time {text!r}: use a duration ago (30m, 6h, 7d), Unix seconds or ISO 8601"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def parse_status(text: str) -> tuple[int, int]:
    """'429' · '4xx' · 'error' (>= 400) · 'ok' (< 400) → an inclusive range."""
    text = text.strip().lower()
    if text.isdigit():
        return int(text), int(text)
    match = _STATUS_CLASS.match(text)
    if match:
        first = int(match.group(1)) * 100
        return first, first + 99
    if text in ("error", "errors"):
        return 400, 599
    if text == "ok":
        return 100, 399
    raise ValueError(f"invalid status {text!r}: use a code (429), a class (5xx), 'error' or 'ok'")


def parse_search(text: str | None) -> str | None:
    """Free text to find in the call log: words, each to be found (None when blank)."""
    words = (text or "").split()
    if len(" ".join(words)) > MAX_SEARCH:
        raise ValueError(f"search text is at most {MAX_SEARCH} characters")
    if len(words) > MAX_SEARCH_WORDS:
        raise ValueError(f"search text is at most {MAX_SEARCH_WORDS} words")
    return " ".join(words) or None


def parse_group_by(text: str | Sequence[str] | None) -> tuple[Dimension, ...]:
    if not text:
        return ()
    parts = text.split(",") if isinstance(text, str) else list(text)
    dims = tuple(p.strip() for p in parts if p.strip())
    unknown = [d for d in dims if d not in DIMENSIONS]
    if unknown:
        raise ValueError(f"cannot group by {', '.join(unknown)}; choose from {', '.join(DIMENSIONS)}")
    return cast(tuple[Dimension, ...], dims)


def parse_grain(text: str | None) -> int | None:
    if not text:
        return None
    if text not in GRAINS:
        raise ValueError(f"invalid grain {text!r}: use {', '.join(GRAINS)}")
    return GRAINS[text]


def call_filter(
    params: Mapping[str, str | None], *, now: float | None = None, default_since_s: float | None = None
) -> CallFilter:
    """A filter from text parameters: since, until, status, the exact-match fields and `search`.
    `default_since_s`: the window to cover when `since` is not given (None: from the start)."""
    now = time.time() if now is None else now
    since_text, until_text = params.get("since"), params.get("until")
    since = parse_time(since_text, now) if since_text else None
    if since is None and default_since_s is not None:
        since = now - default_since_s
    until = parse_time(until_text, now) if until_text else None
    if since is not None and until is not None and since >= until:
        raise ValueError("since must be before until")
    exact = {name: params.get(name) or None for name in _EXACT}
    if exact["key_id"] is None:
        exact["key_id"] = params.get("key") or None
    status_text = params.get("status")
    status_min, status_max = parse_status(status_text) if status_text else (None, None)
    return CallFilter(
        since=since,
        until=until,
        status_min=status_min,
        status_max=status_max,
        search=parse_search(params.get("search")),
        **exact,
    )
