"""Each worker's row in the shared region carries the store generation it serves, so the admin
listener can tell when every live worker has loaded a change — the same bytes in both
implementations, each reading what the other wrote."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from .conftest import IMPLEMENTATIONS

PAIRS = [(w, r) for w in sorted(IMPLEMENTATIONS) for r in sorted(IMPLEMENTATIONS)]


@pytest.fixture
def sleepers() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Live processes to own worker rows (a row counts while its process lives)."""
    procs = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"]) for _ in range(2)]
    yield procs
    for p in procs:
        p.kill()
        p.wait()


@pytest.mark.parametrize(("writer", "reader"), PAIRS)
def test_each_live_worker_publishes_the_generation_it_serves(writer, reader, region_path, sleepers):
    region = IMPLEMENTATIONS[writer][1].create(region_path, 8, 64, 64)
    seen = IMPLEMENTATIONS[reader][1].attach(region_path)
    assert seen.loaded_generations() == []  # no worker yet

    first, second = (IMPLEMENTATIONS[writer][1].attach(region_path) for _ in sleepers)
    first.claim_worker(sleepers[0].pid)
    assert seen.loaded_generations() == [0]  # it has built no tables yet
    first.set_loaded_generation(7)
    second.claim_worker(sleepers[1].pid)
    second.set_loaded_generation(5)
    assert sorted(seen.loaded_generations()) == [5, 7]
    second.set_loaded_generation(9)
    assert sorted(seen.loaded_generations()) == [7, 9]

    # A dead worker's row counts no more, even before reconciliation frees it...
    sleepers[0].kill()
    sleepers[0].wait()
    assert seen.loaded_generations() == [9]
    assert region.reconcile() == 1
    # ...and a process taking a row starts from none.
    region.claim_worker(sleepers[1].pid)
    assert sorted(seen.loaded_generations()) == [0, 9]
    for r in (region, seen, first, second):
        r.close()


def test_a_process_without_a_row_publishes_nothing(impl, region_path, sleepers):
    region = impl[1].create(region_path, 8, 64, 64)
    region.claim_worker(sleepers[0].pid)
    region.set_loaded_generation(3)
    bystander = impl[1].attach(region_path)
    bystander.set_loaded_generation(99)
    assert region.loaded_generations() == [3]
    bystander.close()
    region.close()
