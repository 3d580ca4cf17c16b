"""The capacity search: the rate it finds is one that was served, and within the stated share of
the true maximum."""

import pytest

from bench.capacity import NotServed, highest_rate


@pytest.mark.parametrize("true_max", [150.0, 1234.0, 9999.0])
def test_the_rate_found_was_served_and_is_near_the_maximum(true_max):
    tried: list[float] = []

    def served(rate: float) -> bool:
        tried.append(rate)
        return rate <= true_max

    found = highest_rate(served, start=200, refine=3)
    assert found in tried and found <= true_max
    # Within 1/8 of the interval that held the maximum, whose upper end is at most twice it.
    assert found >= true_max * (1 - 2 / 8)


def test_a_load_never_served_is_said_so():
    with pytest.raises(NotServed, match="25 req/s"):
        highest_rate(lambda rate: False, start=200, refine=3)
