"""Durations: as OpenAI writes them in x-ratelimit-reset-* headers (Go's format), and as people
type them on the command line and in query strings ("15m", "2h", "7d")."""

from __future__ import annotations

import re


def go_duration(seconds: float) -> str:
    """250ms, 1s, 6m0s, 1h2m3.5s."""
    ms = max(0, round(seconds * 1000))
    if ms < 1000:
        return f"{ms}ms" if ms else "0s"
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs = f"{ms // 1000}" if ms % 1000 == 0 else f"{ms / 1000:.3f}".rstrip("0")
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def parse_go_duration(text: str) -> float | None:
    """Seconds in a Go duration ("6m0s", "1.5s", "250ms"); None when it is not one."""
    total, number, i = 0.0, "", 0
    text = text.strip()
    while i < len(text):
        ch = text[i]
        if ch.isdigit() or ch == ".":
            number += ch
            i += 1
            continue
        unit = next((u for u in ("ms", "us", "µs", "ns", "h", "m", "s") if text.startswith(u, i)), None)
        if unit is None or not number:
            return None
        try:
            total += float(number) * _UNITS[unit]
        except ValueError:
            return None
        number, i = "", i + len(unit)
    return total if not number and text else None


_SPAN = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)?$")
_SPAN_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_span(text: str) -> float | None:
    """Seconds in "90", "15m", "2h", "7d" or "1w"; None when it is not one."""
    match = _SPAN.match(text.strip())
    return float(match.group(1)) * _SPAN_UNITS[match.group(2) or "s"] if match else None


def span(text: str) -> float:
    """parse_span for argparse: a clear error instead of None."""
    seconds = parse_span(text)
    if seconds is None:
        raise ValueError(f"not a duration: {text!r} (use e.g. 90, 15m, 2h, 7d)")
    return seconds
