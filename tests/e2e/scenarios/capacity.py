"""What a mock provider's own records say about a run: how much of the capacity its keys offered
was served, how many 429s each key answered, and when, at any instant, a key could next serve.

All from `/_mock/stats` (gateway/mock/limits.py): every admission with the moment its key could
take the next request, and every refusal, on the host's CLOCK_MONOTONIC. Nothing here times the
client, so a slow or loaded machine changes what is offered, not what is measured.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass


@dataclass
class Run:
    limiter: str  # "continuous" or "fixed_window"
    limit: int  # requests per window, per key
    window_s: float
    admitted: dict[str, list[tuple[float, float]]]  # key -> [(when, its next free moment)]
    refused: dict[str, list[float]]

    @classmethod
    def of(cls, stats: dict, limit: int) -> Run:
        keys = stats["keys"]
        return cls(
            stats["limiter"],
            limit,
            stats["window_s"],
            {k: [tuple(a) for a in v["admitted"]] for k, v in keys.items()},
            {k: list(v["refused"]) for k, v in keys.items()},
        )

    @property
    def start(self) -> float:
        """The first request the mock saw."""
        return min(t for times in self._all_times() for t in times[:1])

    @property
    def end(self) -> float:
        """The last request the mock saw."""
        return max(t for times in self._all_times() for t in times[-1:])

    def _all_times(self) -> list[list[float]]:
        return [[a for a, _ in self.admitted.get(k, [])] + self.refused.get(k, []) for k in self.keys]

    @property
    def keys(self) -> list[str]:
        return sorted(set(self.admitted) | set(self.refused))

    @property
    def windows(self) -> int:
        """Whole windows from the first request to the last: the measured span (a partial window
        at the end is left out, when the load stopped mid-way through it)."""
        return math.floor((self.end - self.start) / self.window_s)

    def measured(self) -> tuple[float, float]:
        return self.start, self.start + self.windows * self.window_s

    def capacity(self) -> int:
        """What the keys could have admitted in the measured span, starting full: a continuous
        limiter its whole limit, then limit/window for every second; a fixed window its limit per
        window."""
        whole = self.windows + (1 if self.limiter == "continuous" else 0)
        return len(self.keys) * self.limit * whole

    def served(self) -> int:
        lo, hi = self.measured()
        return sum(1 for key in self.keys for t, _ in self.admitted.get(key, []) if lo <= t < hi)

    def served_share(self) -> float:
        return self.served() / self.capacity()

    def refusals_per_key(self) -> dict[str, int]:
        lo, hi = self.measured()
        return {key: sum(1 for t in self.refused.get(key, []) if lo <= t < hi) for key in self.keys}

    def first_free(self, at: float) -> float:
        """The first moment at or after `at` when some key could take a request, given what the
        keys had admitted by `at`."""
        best = math.inf
        for key in self.keys:
            admitted = self.admitted.get(key, [])
            i = bisect.bisect_right(admitted, (at, math.inf)) - 1
            best = min(best, at if i < 0 else max(at, admitted[i][1]))
        return best
