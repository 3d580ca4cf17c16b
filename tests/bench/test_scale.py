"""How `scale` lays its worker counts on the machine's cores: one core a worker, the load's cores
last and only when the others run out (marked shared)."""

import pytest

from bench.scenarios.scale import plan


def layout(counts):
    return [(c.workers, c.cores_spec, c.shared) for c in counts]


def test_every_count_gets_its_own_cores_beside_the_load():
    counts = plan(range(8), {1}, None)
    assert layout(counts) == [(n, ",".join(map(str, [0, *range(2, n + 1)])), False) for n in range(1, 8)]
    assert [c.name for c in counts][:2] == ["aigw-1w", "aigw-2w"]


def test_on_two_cores_the_second_worker_shares_the_loads_core():
    assert layout(plan({0, 1}, {1}, None)) == [(1, "0", False), (2, "0,1", True)]
    assert layout(plan({0, 1}, {1}, 1)) == [(1, "0", False)]
    assert plan({0, 1}, {1}, None)[1].label == "2 workers (shared)"


def test_one_core_is_shared_with_the_load():
    assert layout(plan({0}, {0}, None)) == [(1, "0", True)]


def test_several_load_cores_stay_last():
    assert layout(plan(range(8), {6, 7}, None))[-1] == (6, "0,1,2,3,4,5", False)
    assert layout(plan(range(8), {6, 7}, 8))[-1] == (8, "0,1,2,3,4,5,6,7", True)


@pytest.mark.parametrize("workers", [0, 3])
def test_more_workers_than_cores_is_refused(workers):
    with pytest.raises(ValueError, match="--max-workers must be 1 to 2"):
        plan({0, 1}, {1}, workers)
