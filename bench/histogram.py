"""Log-linear latency histogram, the same bucket layout as bench/loadgen/loadgen.c.

Values (nanoseconds) below 2**sub_bits are counted exactly; above, every power of two is split
into 2**(sub_bits-1) linear sub-buckets, so a bucket is under 1.6% of its value wide (sub_bits 7).
Percentiles report a bucket's midpoint, clamped to the exact minimum and maximum seen.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

SUB_BITS = 7


class LogLinearHistogram:
    def __init__(self, sub_bits: int = SUB_BITS) -> None:
        self.sub_bits = sub_bits
        self.sub_count = 1 << sub_bits
        self.half_count = 1 << (sub_bits - 1)
        self.counts: dict[int, int] = {}
        self.total = 0
        self.min = 0
        self.max = 0

    # ------------------------------------------------------------------ layout
    def bucket_index(self, value: int) -> int:
        if value < self.sub_count:
            return max(value, 0)
        shift = value.bit_length() - self.sub_bits
        return self.sub_count + (shift - 1) * self.half_count + ((value >> shift) - self.half_count)

    def bucket_bounds(self, index: int) -> tuple[int, int]:
        """[low, high) of the values that fall into bucket `index`."""
        if index < self.sub_count:
            return index, index + 1
        shift, offset = divmod(index - self.sub_count, self.half_count)
        shift += 1
        mantissa = offset + self.half_count
        return mantissa << shift, (mantissa + 1) << shift

    # ------------------------------------------------------------------ filling
    def record(self, value: int, count: int = 1) -> None:
        value = max(int(value), 0)
        index = self.bucket_index(value)
        self.counts[index] = self.counts.get(index, 0) + count
        self.min = value if self.total == 0 else min(self.min, value)
        self.max = max(self.max, value)
        self.total += count

    def merge(self, other: LogLinearHistogram) -> None:
        if other.sub_bits != self.sub_bits:
            raise ValueError("histograms with different layouts cannot be merged")
        if other.total == 0:
            return
        for index, count in other.counts.items():
            self.counts[index] = self.counts.get(index, 0) + count
        self.min = other.min if self.total == 0 else min(self.min, other.min)
        self.max = max(self.max, other.max)
        self.total += other.total

    @classmethod
    def from_buckets(
        cls, buckets: Iterable[tuple[int, int]], minimum: int, maximum: int, sub_bits: int = SUB_BITS
    ) -> LogLinearHistogram:
        """Rebuild a histogram from (index, count) pairs, as the C load generator prints them."""
        hist = cls(sub_bits)
        for index, count in buckets:
            hist.counts[int(index)] = hist.counts.get(int(index), 0) + int(count)
            hist.total += int(count)
        hist.min, hist.max = int(minimum), int(maximum)
        return hist

    # ------------------------------------------------------------------ reading
    def percentile(self, q: float) -> float:
        """The value at percentile q (0-100): the bucket holding the ceil(q% x n)-th value."""
        if self.total == 0:
            return math.nan
        if q >= 100:
            return float(self.max)
        if q <= 0:
            return float(self.min)
        rank = max(1, math.ceil(q / 100 * self.total))
        seen = 0
        for index in sorted(self.counts):
            seen += self.counts[index]
            if seen >= rank:
                low, high = self.bucket_bounds(index)
                mid = (low + high - 1) / 2
                return float(min(max(mid, self.min), self.max))
        return float(self.max)

    def percentiles(self, qs: Iterable[float]) -> dict[str, float]:
        return {percentile_label(q): self.percentile(q) for q in qs}


def percentile_label(q: float) -> str:
    """50 → "p50", 99.9 → "p99.9"."""
    return f"p{q:g}"
