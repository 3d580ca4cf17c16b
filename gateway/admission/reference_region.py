"""Pure-Python twin of the native `SharedRegion`: the same file layout, with an exclusive file
lock standing in for compare-and-swap. Slow, simple, obviously right — the yardstick the native
region is tested against (and interoperable with it, byte for byte)."""

from __future__ import annotations

import fcntl
import mmap
import os
from collections.abc import Iterator
from contextlib import contextmanager

from ..processes import alive
from . import budgets
from . import layout as L


class ReferenceRegion:
    def __init__(self, path: str, fd: int, mm: mmap.mmap):
        self.path = path
        self._fd = fd
        self._mm = mm
        self.words = memoryview(mm).cast("q")
        self.worker = -1
        self.max_workers = self.words[L.H_MAX_WORKERS]
        self.bucket_capacity = self.words[L.H_BUCKETS]
        self.key_capacity = self.words[L.H_KEYS]
        self._workers, self._buckets, self._keys, self._in_flight = L.offsets(
            self.max_workers, self.bucket_capacity, self.key_capacity
        )

    @classmethod
    def create(cls, path: str, max_workers: int, bucket_capacity: int, key_capacity: int) -> ReferenceRegion:
        nbytes = L.region_words(max_workers, bucket_capacity, key_capacity) * 8
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        os.ftruncate(fd, nbytes)
        mm = mmap.mmap(fd, nbytes)
        words = memoryview(mm).cast("q")
        words[L.H_MAX_WORKERS] = max_workers
        words[L.H_BUCKETS] = bucket_capacity
        words[L.H_KEYS] = key_capacity
        words[L.H_VERSION] = L.LAYOUT_VERSION
        words[L.H_MAGIC] = L.MAGIC
        words.release()
        return cls(path, fd, mm)

    @classmethod
    def attach(cls, path: str) -> ReferenceRegion:
        fd = os.open(path, os.O_RDWR)
        mm = mmap.mmap(fd, os.fstat(fd).st_size)
        words = memoryview(mm).cast("q")
        magic, version = words[L.H_MAGIC], words[L.H_VERSION]
        words.release()
        if magic != L.MAGIC:
            raise RuntimeError(f"{path}: not an aigw shared region")
        if version != L.LAYOUT_VERSION:
            raise RuntimeError(f"{path}: layout version {version}, this build uses {L.LAYOUT_VERSION}")
        return cls(path, fd, mm)

    def close(self) -> None:
        self.words.release()
        self._mm.close()
        os.close(self._fd)

    @contextmanager
    def atomically(self) -> Iterator[None]:
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def add(self, word: int, delta: int) -> int:
        with self.atomically():
            self.words[word] += delta
            return int(self.words[word])

    def _find(self, base: int, capacity: int, stride: int, ident: int) -> int:
        i = ((ident * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF) % capacity
        with self.atomically():
            for _ in range(capacity):
                cur = self.words[base + i * stride]
                if cur == ident:
                    return i
                if cur == 0:
                    self.words[base + i * stride] = ident
                    return i
                i = (i + 1) % capacity
        raise MemoryError(f"{self.path}: shared table full ({capacity} entries); raise its capacity")

    def bucket(self, limit_id: int) -> int:
        if limit_id <= 0:
            raise ValueError("limit ids are positive")
        i = self._find(self._buckets, self.bucket_capacity, L.BUCKET_WORDS, limit_id)
        return self._buckets + i * L.BUCKET_WORDS + 1

    # -- budget counters: one packed word each (layout.BUDGET_*) ------------------------------
    def budget_word(self, budget_id: int) -> int:
        return self.bucket(L.BUDGET_TAG | budget_id)

    def charge_budget(self, word: int, index: int, amount: int, charge: int) -> bool:
        """Charge `charge` to period `index` unless the budget is used up (a counter of an older
        period counts as empty: that is the rollover)."""
        with self.atomically():
            used = budgets.used_in(int(self.words[word]), index)
            if used >= amount:
                return False
            self.words[word] = budgets.pack(index, used + charge)
            return True

    def settle_budget(self, word: int, index: int, delta: int) -> None:
        """Add `delta` (may be negative) to period `index`; nothing once that period is over."""
        with self.atomically():
            current = int(self.words[word])
            if current >> L.BUDGET_SHIFT == index:
                self.words[word] = budgets.pack(index, budgets.used_in(current, index) + delta)

    def budget_used(self, budget_id: int, index: int) -> int:
        """What budget `budget_id` has used in period `index`."""
        return budgets.used_in(int(self.words[self.budget_word(budget_id)]), index)

    def seed_budget(self, budget_id: int, index: int, used: int) -> None:
        """Add `used` to period `index` (starting it, if the counter held an older one)."""
        word = self.budget_word(budget_id)
        with self.atomically():
            current = int(self.words[word])
            self.words[word] = budgets.pack(index, budgets.used_in(current, index) + used)

    # -- the cluster's state, as the supervisor last saw it -----------------------------------------
    def cluster_state(self) -> tuple[int, int, int, int]:
        w = self.words
        return (w[L.H_CLUSTER_MODE], w[L.H_DEGRADED], w[L.H_LIVE_NODES], w[L.H_LEASE_NS])

    def set_cluster_state(
        self, mode: int = -1, degraded: int = -1, live_nodes: int = -1, lease_ns: int = -1
    ) -> None:
        for index, value in (
            (L.H_CLUSTER_MODE, mode),
            (L.H_DEGRADED, degraded),
            (L.H_LIVE_NODES, live_nodes),
            (L.H_LEASE_NS, lease_ns),
        ):
            if value >= 0:
                self.words[index] = value

    # -- a shared limit's lease on this node --------------------------------------------------------
    def lease_units(self, limit_id: int) -> int:
        return self.words[self.bucket(L.LEASE_UNITS_TAG | limit_id)]

    def lease_credit(self, limit_id: int, units: int) -> None:
        self.add(self.bucket(L.LEASE_UNITS_TAG | limit_id), units)

    def lease_settled(self, limit_id: int, empty_until_ns: int) -> None:
        empty, refill = self.bucket(L.LEASE_EMPTY_TAG | limit_id), self.bucket(L.LEASE_REFILL_TAG | limit_id)
        with self.atomically():
            self.words[empty] = empty_until_ns
            self.words[refill] = 0

    def key_slot(self, key_id: int) -> int:
        return self._find(self._keys, self.key_capacity, L.KEY_WORDS, key_id)

    def _row(self, row: int) -> int:
        return self._workers + row * L.WORKER_WORDS

    def claim_worker(self, pid: int) -> int:
        with self.atomically():
            for row in range(self.max_workers):
                cur = self.words[self._row(row) + L.W_PID]
                if cur == 0 or (cur > 0 and not alive(cur)):
                    self.words[self._row(row) + L.W_PID] = pid
                    self.words[self._row(row) + L.W_GENERATION] = 0
                    self._zero_row(row)
                    self.worker = row
                    return row
        raise RuntimeError(f"{self.path}: all {self.max_workers} worker rows are in use")

    def release_worker(self) -> None:
        if self.worker < 0:
            return
        row, self.worker = self.worker, -1
        with self.atomically():
            if self.words[self._row(row) + L.W_PID] > 0:
                self._zero_row(row)
                self.words[self._row(row) + L.W_GENERATION] = 0
                self.words[self._row(row) + L.W_PID] = 0

    def reconcile(self) -> int:
        freed = 0
        with self.atomically():
            for row in range(self.max_workers):
                cur = self.words[self._row(row) + L.W_PID]
                if cur > 0 and not alive(cur):
                    self._zero_row(row)
                    self.words[self._row(row) + L.W_GENERATION] = 0
                    self.words[self._row(row) + L.W_PID] = 0
                    freed += 1
        return freed

    def set_loaded_generation(self, generation: int) -> None:
        if self.worker >= 0:
            self.words[self._row(self.worker) + L.W_GENERATION] = generation

    def loaded_generations(self) -> list[int]:
        with self.atomically():
            rows = [
                (self.words[self._row(r) + L.W_PID], self.words[self._row(r) + L.W_GENERATION])
                for r in range(self.max_workers)
            ]
        return [generation for pid, generation in rows if pid > 0 and alive(pid)]

    def _zero_row(self, row: int) -> None:
        # Called with the lock held: the row's counts leave the node-wide totals with it.
        base = self._in_flight + row * self.key_capacity
        for slot in range(self.key_capacity):
            count = self.words[base + slot]
            if count:
                self.words[base + slot] = 0
                self.words[self.key_word(slot, L.K_IN_FLIGHT)] -= count

    def add_in_flight(self, slot: int, n: int) -> None:
        if self.worker >= 0:
            with self.atomically():
                self.words[self._in_flight + self.worker * self.key_capacity + slot] += n
                self.words[self.key_word(slot, L.K_IN_FLIGHT)] += n

    def in_flight(self, slot: int) -> int:
        return self.key(slot, L.K_IN_FLIGHT)

    def key_word(self, slot: int, field: int) -> int:
        return self._keys + slot * L.KEY_WORDS + field

    def key(self, slot: int, field: int) -> int:
        return int(self.words[self.key_word(slot, field)])

    def cool(self, slot: int, until_ns: int, cause: int = 0) -> bool:
        with self.atomically():
            word = self.key_word(slot, L.K_COOL_UNTIL)
            if self.words[word] >= until_ns:
                return False
            self.words[word] = until_ns
            if cause:
                self.words[self.key_word(slot, L.K_COOL_CAUSE)] = cause
            return True

    def cool_cause(self, slot: int) -> int:
        return self.key(slot, L.K_COOL_CAUSE)

    def cool_until(self, slot: int) -> int:
        return self.key(slot, L.K_COOL_UNTIL)

    def clear_cooldown(self, slot: int) -> None:
        self.words[self.key_word(slot, L.K_COOL_UNTIL)] = 0
        self.words[self.key_word(slot, L.K_FAILURES)] = 0

    def learn(
        self,
        slot: int,
        limiter: int,
        now_ns: int,
        remaining_requests: int,
        reset_requests_ns: int,
        limit_requests: int,
        remaining_tokens: int,
        reset_tokens_ns: int,
        limit_tokens: int,
    ) -> None:
        self.words[self.key_word(slot, L.K_LIMITER)] = limiter
        if reset_requests_ns >= 0:
            self.words[self.key_word(slot, L.K_REMAINING_REQUESTS)] = remaining_requests
            self.words[self.key_word(slot, L.K_LIMIT_REQUESTS)] = limit_requests
            self.words[self.key_word(slot, L.K_LEARNED_REQUESTS)] = now_ns
            self.words[self.key_word(slot, L.K_RESET_REQUESTS)] = reset_requests_ns
        if reset_tokens_ns >= 0:
            self.words[self.key_word(slot, L.K_REMAINING_TOKENS)] = remaining_tokens
            self.words[self.key_word(slot, L.K_LIMIT_TOKENS)] = limit_tokens
            self.words[self.key_word(slot, L.K_LEARNED_TOKENS)] = now_ns
            self.words[self.key_word(slot, L.K_RESET_TOKENS)] = reset_tokens_ns

    def state(self, slot: int) -> int:
        return self.key(slot, L.K_STATE)

    def set_state(self, slot: int, state: int, now_ns: int, next_probe_ns: int = 0) -> int:
        with self.atomically():
            old = self.key(slot, L.K_STATE)
            self.words[self.key_word(slot, L.K_NEXT_PROBE)] = next_probe_ns
            self.words[self.key_word(slot, L.K_CHANGED)] = now_ns
            self.words[self.key_word(slot, L.K_STATE)] = state
            return old

    def next_probe(self, slot: int) -> int:
        return self.key(slot, L.K_NEXT_PROBE)

    def set_next_probe(self, slot: int, at_ns: int) -> None:
        self.words[self.key_word(slot, L.K_NEXT_PROBE)] = at_ns

    def fail(self, slot: int) -> int:
        return self.add(self.key_word(slot, L.K_FAILURES), 1)

    def succeed(self, slot: int) -> None:
        if self.key(slot, L.K_FAILURES):
            self.words[self.key_word(slot, L.K_FAILURES)] = 0

    def record(self, slot: int) -> dict[str, int]:
        fields = [(n[2:].lower(), getattr(L, n)) for n in dir(L) if n.startswith("K_") and n != "K_ID"]
        return {name: self.key(slot, index) for name, index in fields}
