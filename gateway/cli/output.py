"""How the CLI prints: times in UTC as ISO 8601 (which `--since` reads back), and tables."""

from __future__ import annotations

import time
from collections.abc import Sequence


def when(ts: float | None) -> str:
    """A Unix time as `2026-11-26T10:15:03Z`; '-' for none."""
    return "-" if ts is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns two spaces apart, the header first."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows]
    )
