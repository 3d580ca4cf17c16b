"""The soak's verdict: does anything grow once the gateway has warmed up?

The samples after warm-up are judged by their first and last tenth (each at least one sample).
RSS, by its median, may grow by a stated share: allocators and caches settle slowly. Descriptors,
connections and call records waiting to be written must come back, in the last tenth, to the
highest count of the first: a leak raises even the lowest count, while a burst of load raises
some samples only (the idle upstream connections it opened close 30 s later). Errors that were
not provoked on purpose must be zero.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

# Counts that must not grow, with the report's words for them.
FLAT = {
    "fds": "open file descriptors",
    "callers": "connections from callers",
    "upstreams": "connections to upstreams",
    "calllog_buffered": "call records waiting to be written",
}


@dataclass(frozen=True)
class Sample:
    t_s: float  # since the load started
    rss_mb: float
    fds: int
    callers: int
    upstreams: int
    calllog_buffered: int
    errors: int  # unexpected errors so far (callers' non-2xx and socket errors, ERROR log lines, ...)
    provoked: int  # deliberately provoked failures so far (hostile clients, refused keys)


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


def verdict(samples: Sequence[Sample], warmup_s: float, max_rss_growth: float, errors: int) -> list[Check]:
    """Every check, passed or not; the soak passes when all do. `errors`: the run's unexpected
    errors in all (the samples' counts stop when the load does)."""
    settled = [s for s in samples if s.t_s >= warmup_s]
    if len(settled) < 2:
        return [Check("duration", False, f"{len(settled)} sample(s) after a {warmup_s:g}s warm-up; need 2")]
    window = max(1, len(settled) // 10)
    first, last = settled[:window], settled[-window:]
    checks = []
    rss0 = statistics.median(s.rss_mb for s in first)
    rss1 = statistics.median(s.rss_mb for s in last)
    growth = rss1 / rss0 - 1 if rss0 else 0.0
    checks.append(
        Check(
            "rss",
            growth <= max_rss_growth,
            f"RSS {rss0:.1f} MB after warm-up, {rss1:.1f} MB at the end: {growth:+.1%} "
            f"(bound {max_rss_growth:+.0%})",
        )
    )
    for key, words in FLAT.items():
        ceiling = max(getattr(s, key) for s in first)
        floor = min(getattr(s, key) for s in last)
        checks.append(
            Check(
                key,
                floor <= ceiling,
                f"{words}: at least {floor} at the end, at most {ceiling} after warm-up",
            )
        )
    checks.append(Check("errors", errors == 0, f"{errors} unexpected error(s)"))
    return checks
