"""Options shared by `aigw logs` and `aigw stats`, and the terminal formatting both use."""

from __future__ import annotations

import argparse
import math

from ..analytics.params import call_filter
from ..calllog.store import CallFilter
from .context import common_options

SPARKS = "▁▂▃▄▅▆▇█"


def add_filter_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--since", help="start: a duration ago (30m, 6h, 7d), Unix seconds or ISO 8601 (UTC unless it says)"
    )
    p.add_argument("--until", help="end (exclusive), same forms; default now")
    p.add_argument("--tenant")
    p.add_argument("--app")
    p.add_argument("--key", dest="key_id", help="consumer key id")
    p.add_argument("--model", help="requested model")
    p.add_argument("--provider")
    p.add_argument("--upstream-key", help="upstream (provider) key id")
    p.add_argument("--status", help="a code (429), a class (5xx), 'error' or 'ok'")
    common_options(p)


def filter_from(args: argparse.Namespace, default_since_s: float | None = None) -> CallFilter:
    names = ("since", "until", "tenant", "app", "key_id", "model", "provider", "upstream_key", "status")
    params = {n: getattr(args, n, None) for n in names}
    params["request_id"] = getattr(args, "request_id", None)
    params["search"] = getattr(args, "search", None)
    return call_filter(params, default_since_s=default_since_s)


def sparkline(values: list[float], width: int = 40) -> str:
    """One character per value (summed into at most `width` columns); blank where zero."""
    if not values:
        return ""
    if len(values) > width:
        step = -(-len(values) // width)
        values = [sum(values[i : i + step]) for i in range(0, len(values), step)]
    top = max(values)
    if top <= 0:
        return " " * len(values)
    levels = len(SPARKS)
    # ceil: the smallest non-zero value still shows, only the largest reaches the top.
    return "".join(" " if v <= 0 else SPARKS[max(math.ceil(v / top * levels) - 1, 0)] for v in values)


def count(n: float) -> str:
    return f"{n:,.0f}"


def tokens(n: float) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return f"{n:.0f}"


def ms(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.0f}ms" if v < 1000 else f"{v / 1000:.1f}s"


def usd(v: float) -> str:
    return f"${v:,.2f}" if v >= 1 or v == 0 else f"${v:.4f}"


def percent(v: float) -> str:
    return f"{v * 100:.1f}%"
