"""What one load run measured, whether it can be trusted, and the median over repeats.

A run with any non-2xx answer or socket error is FLAGGED: its throughput is never reported,
because a server answering errors quickly is not a fast server.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

PERCENTILES = (50.0, 90.0, 99.0, 99.9)
LATENCY_KEYS = ("p50", "p90", "p99", "p99.9")


@dataclass
class Measurement:
    """One load run against one target."""

    target: str  # "aigw", "nginx", "direct", or a URL
    mode: str  # "closed" (max throughput) or "open" (constant rate)
    tool: str  # "wrk" or "loadgen"
    connections: int
    duration_s: float
    requests: int  # completed responses, any status
    rps: float
    latency_ms: dict[str, float]  # LATENCY_KEYS → milliseconds
    non2xx: int = 0
    socket_errors: dict[str, int] = field(default_factory=dict)
    rate_target: float | None = None
    unsent: int = 0  # open loop: scheduled requests never sent (every connection was busy)
    cpu_s: float | None = None  # CPU seconds of the target's process tree during the run
    peak_rss_mb: float | None = None
    start_rss_mb: float | None = None

    @property
    def errors(self) -> int:
        return sum(self.socket_errors.values())

    @property
    def cpu_s_per_1k(self) -> float | None:
        if self.cpu_s is None or self.requests == 0:
            return None
        return self.cpu_s / self.requests * 1000

    @property
    def flags(self) -> list[str]:
        """Reasons this run cannot be reported as throughput; empty when it is clean."""
        reasons = []
        if self.requests == 0:
            reasons.append("no responses")
        if self.non2xx:
            reasons.append(f"{self.non2xx} non-2xx responses")
        if self.errors:
            detail = ", ".join(f"{k} {v}" for k, v in self.socket_errors.items() if v)
            reasons.append(f"{self.errors} socket errors ({detail})")
        if self.unsent:
            reasons.append(f"{self.unsent} scheduled requests never sent: every connection was busy")
        return reasons

    @property
    def flagged(self) -> bool:
        return bool(self.flags)

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc.update(cpu_s_per_1k=self.cpu_s_per_1k, flags=self.flags, flagged=self.flagged)
        return doc


@dataclass
class Summary:
    """The median of repeated runs of one target in one mode."""

    target: str
    mode: str
    runs: int
    rps: float | None  # None when any run was flagged
    latency_ms: dict[str, float]
    non2xx: int
    socket_errors: int
    cpu_s_per_1k: float | None
    peak_rss_mb: float | None
    rate_target: float | None
    flags: list[str]
    added_ms: dict[str, float] | None = None  # against "direct" in the same mode

    @property
    def flagged(self) -> bool:
        return bool(self.flags)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "flagged": self.flagged}


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def summarize(runs: Sequence[Measurement]) -> Summary:
    """Median of each figure over `runs` (same target and mode); errors are summed, not medianed."""
    if not runs:
        raise ValueError("nothing to summarize")
    first = runs[0]
    flags = [f"run {i + 1}: {reason}" for i, run in enumerate(runs) for reason in run.flags]
    latency = {key: _median([run.latency_ms.get(key) for run in runs]) for key in LATENCY_KEYS}
    return Summary(
        target=first.target,
        mode=first.mode,
        runs=len(runs),
        rps=None if flags else _median([run.rps for run in runs]),
        latency_ms={k: v for k, v in latency.items() if v is not None},
        non2xx=sum(run.non2xx for run in runs),
        socket_errors=sum(run.errors for run in runs),
        cpu_s_per_1k=_median([run.cpu_s_per_1k for run in runs]),
        peak_rss_mb=_median([run.peak_rss_mb for run in runs]),
        rate_target=first.rate_target,
        flags=flags,
    )


def add_baseline(summaries: Sequence[Summary], baseline: str = "direct") -> None:
    """Fill `added_ms` (latency minus the baseline's, per percentile) for each non-baseline row."""
    by_mode = {s.mode: s for s in summaries if s.target == baseline}
    for s in summaries:
        base = by_mode.get(s.mode)
        if base is None or s.target == baseline:
            continue
        s.added_ms = {k: v - base.latency_ms[k] for k, v in s.latency_ms.items() if k in base.latency_ms}


def ratio(numerator: Summary | None, denominator: Summary | None) -> float | None:
    """numerator.rps / denominator.rps, or None when either is missing or flagged."""
    if numerator is None or denominator is None or not numerator.rps or not denominator.rps:
        return None
    return numerator.rps / denominator.rps
