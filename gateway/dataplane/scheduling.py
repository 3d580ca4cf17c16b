"""Let a worker's event loop keep its core: its other threads yield to it instead of preempting it.

A worker is one event-loop thread running the gateway's Python, plus granian's Rust threads that
read and write the sockets and the executor threads that read the store on a reload. Under load,
every request wakes granian's I/O thread, and at the normal policy the kernel switches to it at
once, preempting the loop in the middle of a request. Under SCHED_BATCH a thread keeps its full
share of the core but does not preempt on wake-up: it runs when the loop waits or its time slice
ends, and then handles several requests in one go.
"""

from __future__ import annotations

import logging
import os
import threading

log = logging.getLogger("aigw.dataplane")

# Linux only: there each thread has a policy of its own, set by its id; elsewhere nothing is done.
_SUPPORTED = hasattr(os, "SCHED_BATCH") and os.path.isdir("/proc/self/task")


def batch_other_threads() -> None:
    """Put every other thread of this process under SCHED_BATCH."""
    if _SUPPORTED:
        me = threading.get_native_id()
        for name in os.listdir("/proc/self/task"):
            if int(name) != me:
                _batch(int(name))


def batch_this_thread() -> None:
    """Put the calling thread under SCHED_BATCH (an executor's thread initializer)."""
    if _SUPPORTED:
        _batch(0)  # 0: the calling thread


def _batch(tid: int) -> None:
    try:
        os.sched_setscheduler(tid, os.SCHED_BATCH, os.sched_param(0))
    except OSError:  # the thread has ended, or a sandbox forbids it: the default stays
        log.debug("thread %d keeps its scheduling policy", tid, exc_info=True)
