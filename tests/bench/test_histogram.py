"""The log-linear histogram: layout, percentiles, and agreement with the C generator's layout."""

import math
import random
import subprocess

import pytest

from bench import loadgen
from bench.histogram import LogLinearHistogram, percentile_label


def test_small_values_are_exact():
    h = LogLinearHistogram()
    for v in range(128):
        assert h.bucket_bounds(h.bucket_index(v)) == (v, v + 1)


@pytest.mark.parametrize("value", [128, 129, 255, 256, 1000, 123_456, 10**9, 2**40 + 12345])
def test_every_value_falls_inside_its_bucket_which_is_narrow(value):
    h = LogLinearHistogram()
    low, high = h.bucket_bounds(h.bucket_index(value))
    assert low <= value < high
    assert (high - low) / value <= 1 / 64


def test_buckets_are_contiguous():
    h = LogLinearHistogram()
    for index in range(1, 2000):
        assert h.bucket_bounds(index - 1)[1] == h.bucket_bounds(index)[0]


def test_percentiles_of_a_uniform_spread_are_within_bucket_precision():
    h = LogLinearHistogram()
    values = list(range(1, 100_001))
    random.Random(4).shuffle(values)
    for v in values:
        h.record(v * 1000)
    for q in (50, 90, 99, 99.9):
        expected = q / 100 * 100_000 * 1000
        assert h.percentile(q) == pytest.approx(expected, rel=0.01)
    assert h.percentile(100) == 100_000 * 1000
    assert h.percentile(0) == 1000


def test_percentile_is_clamped_to_what_was_seen_and_nan_when_empty():
    h = LogLinearHistogram()
    assert math.isnan(h.percentile(50))
    h.record(1_000_003)
    assert h.percentile(50) == 1_000_003
    assert h.percentiles([50, 99.9]) == {"p50": 1_000_003, "p99.9": 1_000_003}


def test_merge_and_rebuild_from_buckets():
    a, b = LogLinearHistogram(), LogLinearHistogram()
    for v in (10, 20, 30):
        a.record(v)
    for v in (5, 5000):
        b.record(v)
    a.merge(b)
    assert (a.total, a.min, a.max) == (5, 5, 5000)
    rebuilt = LogLinearHistogram.from_buckets(a.counts.items(), a.min, a.max)
    assert rebuilt.percentiles([50, 90]) == a.percentiles([50, 90])


def test_labels():
    assert percentile_label(50) == "p50"
    assert percentile_label(99.9) == "p99.9"


def test_the_c_generator_uses_the_same_buckets():
    values = [0, 1, 127, 128, 129, 191, 192, 255, 256, 4095, 4096, 999_999, 10**9, 2**40]
    values += random.Random(7).sample(range(10**10), 200)
    out = subprocess.run(
        [str(loadgen.binary()), "--bucket-selftest"],
        input="\n".join(map(str, values)),
        capture_output=True,
        text=True,
        check=True,
    )
    h = LogLinearHistogram()
    assert [int(line) for line in out.stdout.split()] == [h.bucket_index(v) for v in values]
