"""Each worker's granian threads and reload threads run under SCHED_BATCH, so they never preempt
its event loop (`server.batch_io_threads`, on by default); the loop keeps the default policy."""

from __future__ import annotations

import os
import sys

import pytest

from .conftest import MODELS_YAML, Gateway, admitted_by_every_worker

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread policies are Linux")


def threads_of(worker: str) -> tuple[tuple[int, int], dict[int, tuple[int, int]]]:
    """A worker (its hex pid, as in x-request-id): the (policy, nice) of its main thread, which
    runs the event loop, and of each other thread by id."""
    pid = int(worker, 16)
    threads = {
        tid: (os.sched_getscheduler(tid), os.getpriority(os.PRIO_PROCESS, tid))
        for tid in map(int, os.listdir(f"/proc/{pid}/task"))
    }
    return threads.pop(pid), threads


def test_granian_and_reload_threads_run_as_batch_and_the_event_loop_keeps_the_default(gateway):
    # A key made now reaches each worker through a reload, which reads the store in an executor
    # thread: once every worker admits it, those threads exist too.
    for worker in admitted_by_every_worker(gateway, gateway.new_key()):
        (loop_policy, loop_nice), others = threads_of(worker)
        assert loop_policy == os.SCHED_OTHER
        # The call-log writer is the thread 10 nice steps lower (gateway/calllog/recorder.py);
        # every other thread at the loop's nice value is granian's or a reload's.
        helpers = {policy for policy, nice in others.values() if nice == loop_nice}
        assert helpers == {os.SCHED_BATCH}


def test_batch_io_threads_false_leaves_every_thread_at_the_default(tmp_path):
    gw = Gateway(tmp_path, MODELS_YAML, workers=1, server_yaml="batch_io_threads: false")
    key = gw.new_key()
    gw.start()
    try:
        [worker] = admitted_by_every_worker(gw, key, workers=1)
        (loop_policy, _), others = threads_of(worker)
        assert others
        assert {loop_policy} | {policy for policy, _ in others.values()} == {os.SCHED_OTHER}
    finally:
        assert gw.stop() == 0
