"""Microbenchmark of one `admit()` call: native core against the pure-Python reference.

Loads 100,000 consumers and 1,000 upstream keys (10 model groups of 100), three limits per
request (app, key, model group), then times admit()+finish() on a fixed-seed random mix of
consumers and groups. Run it pinned to one core:
    taskset -c 0 python -m bench.admit_micro [--consumers N] [--calls N]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import tempfile
import time

from gateway import _native
from gateway.admission import reference, reference_region
from gateway.admission.layout import key_id
from gateway.admission.spec import AdmissionSpec, ConsumerSpec, GroupSpec, LimitSpec
from gateway.credentials import digest

GROUPS = 10
KEYS_PER_GROUP = 100


def build_spec(consumers: int) -> tuple[AdmissionSpec, list[str]]:
    keys = [f"aigw-bench-{i:06d}" for i in range(consumers)]
    limits = [LimitSpec(1 + g, f"model 'm{g}'", "requests", 10**9, 1, 10**9) for g in range(GROUPS)]
    apps = consumers // 100
    limits += [LimitSpec(100 + a, f"app 'a{a}'", "requests", 10**9, 1, 10**9) for a in range(apps)]
    limits += [LimitSpec(1_000_000 + i, f"key 'k{i}'", "requests", 10**9, 1, 10**9) for i in range(consumers)]
    spec = AdmissionSpec(
        consumers=[
            ConsumerSpec(digest(k), f"k{i}", "t", f"a{i // 100}", None, (100 + i // 100, 1_000_000 + i))
            for i, k in enumerate(keys)
        ],
        groups=[
            GroupSpec(
                f"m{g}",
                tuple(range(KEYS_PER_GROUP)),
                tuple(key_id("p", f"g{g}k{k}") for k in range(KEYS_PER_GROUP)),
                (1 + g,),
            )
            for g in range(GROUPS)
        ],
        limits=limits,
    )
    return spec, keys


def measure(table, calls: list[tuple[str, str]]) -> float:
    admit, finish = table.admit, table.finish
    start = time.perf_counter_ns()
    for key, model in calls:
        finish(admit("POST", "/v1/chat/completions", key, model, 0))
    return (time.perf_counter_ns() - start) / len(calls)


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.admit_micro")
    p.add_argument("--consumers", type=int, default=100_000)
    p.add_argument("--calls", type=int, default=200_000)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument(
        "--active",
        type=int,
        default=0,
        help="draw calls from this many of the consumers (0: all of them, uniformly: the cache-hostile case)",
    )
    args = p.parse_args()
    rng = random.Random(42)
    spec, keys = build_spec(args.consumers)
    callers = keys[: args.active] if args.active else keys
    # A distinct str per call, as parsed from each request's headers (so no cached str hash).
    calls = [((rng.choice(callers) + " ")[:-1], f"m{rng.randrange(GROUPS)}") for _ in range(args.calls)]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, table_cls, region_cls, calls_used in (
            ("native", _native.AdmissionTable, _native.SharedRegion, calls),
            # The reference is ~20x slower: a twentieth of the calls gives as stable a figure.
            (
                "reference",
                reference.AdmissionTable,
                reference_region.ReferenceRegion,
                calls[: args.calls // 20],
            ),
        ):
            region = region_cls.create(os.path.join(tmp, name), 4, 1 << 18, 2048)
            region.claim_worker(os.getpid())
            table = table_cls(spec, region)
            results[name] = sorted(measure(table, calls_used) for _ in range(args.repeat))[args.repeat // 2]
            region.close()
    keys = GROUPS * KEYS_PER_GROUP
    active = f"{args.active:,} active" if args.active else "all active, uniformly"
    print(f"admit()+finish(), {args.consumers:,} consumers ({active}), {keys:,} upstream keys")
    print("three limits per request (app, key, model group); headroom selection")
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, {os.cpu_count()} cores; python {platform.python_version()}")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; median of {args.repeat}")
    for name, ns in results.items():
        print(f"  {name:<10} {ns:10.0f} ns/call")
    print(f"  native is {results['reference'] / results['native']:.1f}x faster than the reference")


if __name__ == "__main__":
    main()
