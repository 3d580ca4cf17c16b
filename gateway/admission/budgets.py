"""Budget periods in plain Python: which period a moment falls in, when it ends, and the packed
counter word (layout.BUDGET_*). The native core computes the same period indexes in C; the
reference, the supervisor's seeding and the admin API use these."""

from __future__ import annotations

import calendar
import time

from . import layout as L
from .spec import PERIOD_DAY, PERIOD_LIFETIME, PERIOD_MONTH

DAY_S = 86400


def period_index(period: str, wall_s: int) -> int:
    """The period `wall_s` (Unix seconds) falls in: UTC days or months since 1970; 0 for lifetime."""
    if period == PERIOD_DAY:
        return wall_s // DAY_S
    if period == PERIOD_MONTH:
        t = time.gmtime(wall_s)
        return (t.tm_year - 1970) * 12 + t.tm_mon - 1
    if period == PERIOD_LIFETIME:
        return 0
    raise ValueError(f"unknown budget period {period!r}")


def period_start(period: str, index: int) -> int:
    """Unix seconds when period `index` began (0 for lifetime)."""
    if period == PERIOD_DAY:
        return index * DAY_S
    if period == PERIOD_MONTH:
        return calendar.timegm((1970 + index // 12, index % 12 + 1, 1, 0, 0, 0))
    return 0


def resets_at(period: str, index: int) -> int | None:
    """Unix seconds when period `index` ends and the budget starts afresh; None for lifetime."""
    if period == PERIOD_LIFETIME:
        return None
    return period_start(period, index + 1)


def pack(index: int, used: int) -> int:
    return (index << L.BUDGET_SHIFT) | min(max(used, 0), L.BUDGET_USED_MAX)


def used_in(word: int, index: int) -> int:
    """What a counter word says was used in period `index` (0 if it counts another period)."""
    return word & L.BUDGET_USED_MAX if word >> L.BUDGET_SHIFT == index else 0
