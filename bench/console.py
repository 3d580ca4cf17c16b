"""What the harness tells the person running it: log lines and a live progress line (stderr)."""

from __future__ import annotations

import sys
from typing import Any


def log(message: str) -> None:
    _clear_progress()
    print(f"bench: {message}", file=sys.stderr, flush=True)


_progress_shown = False


def _clear_progress() -> None:
    global _progress_shown
    if _progress_shown:
        sys.stderr.write("\r\033[K")
        _progress_shown = False


def progress_line(p: dict[str, Any], duration_s: float) -> str:
    """One line from a load generator's per-second progress record."""
    return (
        f"{p['elapsed_s']:5.1f}/{duration_s:g}s  {p['rps']:>7,} req/s  mean {p['mean_ms']:.2f} ms  "
        f"done {p['completed']:,}  non-2xx {p['non2xx']:,}  socket errors {p['errors']:,}"
    )


def show_progress(p: dict[str, Any], duration_s: float) -> None:
    """Rewrite the progress line in place on a terminal; print one line a second otherwise."""
    global _progress_shown
    line = progress_line(p, duration_s)
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K" + line)
        _progress_shown = True
    else:
        sys.stderr.write(line + "\n")
    sys.stderr.flush()


def end_progress() -> None:
    global _progress_shown
    if _progress_shown:
        sys.stderr.write("\n")
        _progress_shown = False
