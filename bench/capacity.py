"""The highest constant rate a load is served at: a search over rates, each tried for a short
step, where what "served" means is the caller's (every request sent on schedule, answered, and
soon). Doubling finds a rate that is not served; halving the interval between the last rate
served and that one `refine` times narrows the answer to within 1/2**refine of it."""

from __future__ import annotations

from collections.abc import Callable


class NotServed(RuntimeError):
    """Not even the first rate tried was served."""


def highest_rate(served: Callable[[float], bool], start: float, refine: int = 3) -> float:
    """The highest rate `served` accepted: at least `start / 2**refine`, or NotServed."""
    low, high = 0.0, start
    while served(high):
        low, high = high, high * 2
    for _ in range(refine):
        middle = (low + high) / 2
        if served(middle):
            low = middle
        else:
            high = middle
    if low == 0:
        raise NotServed(f"no rate from {start / 2**refine:g} req/s up was served")
    return low
