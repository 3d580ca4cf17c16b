"""`python -m bench SCENARIO [options]` (also `aigw bench …`): set up, load, report.

The harness pins itself to the load cores, owns every process it starts (all stopped on exit,
Ctrl-C or SIGTERM included) and writes SCENARIO.json, .md and .png into --out.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from . import aigw, machine, report
from .console import log
from .install import SetupError
from .procs import Processes, StartError
from .scenarios import RunContext, Scenario, load

EXIT_FLAGGED = 3  # the run finished but some measurement had errors


def parse_cores(spec: str) -> set[int]:
    """The set of CPU numbers in a list like "0", "0-3" or "0,2-3"."""
    cores: set[int] = set()
    for part in spec.split(","):
        first, _, last = part.strip().partition("-")
        if not first.isdigit() or (last and not last.isdigit()):
            raise argparse.ArgumentTypeError(f"not a core list: {spec!r} (e.g. 0, 0-3, 0,2)")
        cores.update(range(int(first), int(last or first) + 1))
    return cores


def core_list(spec: str) -> str:
    """argparse type: a valid core list, kept as written (taskset takes the same syntax)."""
    parse_cores(spec)
    return spec


def default_cores() -> tuple[str, str]:
    """aigw on the first available core, load on the next (one core: both share it)."""
    available = sorted(os.sched_getaffinity(0))
    return str(available[0]), str(available[1] if len(available) > 1 else available[0])


def _common_options() -> argparse.ArgumentParser:
    aigw_cores, load_cores = default_cores()
    common = argparse.ArgumentParser(add_help=False)
    g = common.add_argument_group("common options")
    g.add_argument("--duration", type=float, default=10, help="seconds per measurement (default 10)")
    g.add_argument("--connections", type=int, default=64, help="concurrent connections (default 64)")
    g.add_argument("--repeat", type=int, default=3, help="repeat each measurement N times; report the median")
    g.add_argument("--warmup", type=float, default=2, help="seconds of warm-up load per target (default 2)")
    g.add_argument("--out", type=Path, help="output directory (default bench/out/SCENARIO-TIME)")
    g.add_argument(
        "--aigw-cores",
        type=core_list,
        default=aigw_cores,
        help=f"cores for aigw and nginx (default {aigw_cores})",
    )
    g.add_argument(
        "--load-cores",
        type=core_list,
        default=load_cores,
        help=f"cores for load and upstream (default {load_cores})",
    )
    g.add_argument("--no-chart", action="store_true", help="skip the PNG chart (and installing matplotlib)")
    g.add_argument(
        "--aigw-src",
        type=Path,
        help="run aigw from this directory (a checkout with its native core built, or a "
        "`pip install --target` dir) instead of the installed package",
    )
    g.add_argument(
        "--no-limits", action="store_true", help="aigw without its three per-request limits (on by default)"
    )
    g.add_argument("--keep", action="store_true", help="keep the run directory (configs, logs, store)")
    return common


def parser(scenarios: dict[str, Scenario], prog: str = "python -m bench") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="aigw bench harness: load-test aigw against nginx and the bare upstream, or any URL. "
        "See docs/benchmarks.md.",
    )
    sub = p.add_subparsers(dest="scenario", required=True, metavar="SCENARIO")
    for scenario in scenarios.values():
        # A fresh parent each time: argparse shares parent actions, so one scenario's defaults
        # would otherwise leak into every other's.
        sp = sub.add_parser(
            scenario.name, parents=[_common_options()], help=scenario.summary, description=scenario.summary
        )
        scenario.add_arguments(sp)
        if scenario.defaults:
            sp.set_defaults(**scenario.defaults)
    return p


def default_out(scenario: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path("bench/out") if Path("bench/__main__.py").exists() else Path("aigw-bench")
    return base / f"{scenario}-{stamp}"


def _aigw_version(args: argparse.Namespace) -> str:
    version = aigw.version(args.aigw_src)
    return f"{version} from {args.aigw_src}" if args.aigw_src else version


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None, prog: str = "python -m bench") -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    scenarios = load()
    args = parser(scenarios, prog).parse_args(argv)
    if args.duration <= 0 or args.connections < 1 or args.repeat < 1:
        log("--duration, --connections and --repeat must be positive")
        return 2
    available = frozenset(os.sched_getaffinity(0))
    # The harness's own work (waiting, sampling) must not steal aigw's core.
    os.sched_setaffinity(0, parse_cores(args.load_cores))
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGHUP, _raise_interrupt)

    scenario = scenarios[args.scenario]
    out_dir = args.out or default_out(scenario.name)
    run_dir = Path(tempfile.mkdtemp(prefix=f"aigw-bench-{scenario.name}-"))
    keep = args.keep
    try:
        with Processes(run_dir) as procs:
            ctx = RunContext(
                args=args,
                procs=procs,
                run_dir=run_dir,
                aigw_cores=args.aigw_cores,
                load_cores=args.load_cores,
                header=machine.header(prog, argv, args.aigw_cores, args.load_cores, _aigw_version(args)),
                available_cores=available,
            )
            result = scenario.run(ctx)
        paths = report.write(result, out_dir, chart=not args.no_chart)
    except KeyboardInterrupt:
        log("interrupted; every process the harness started has been stopped")
        return 130
    except (SetupError, StartError, RuntimeError, ValueError) as exc:
        keep = True
        log(f"failed: {exc}")
        log(f"configs and logs of this run are in {run_dir}")
        return 1
    finally:
        if not keep:
            shutil.rmtree(run_dir, ignore_errors=True)
    for table in result.tables:
        print(report.markdown_table(table) + "\n")
    for note in result.notes:
        print(f"- {note}")
    log("wrote " + ", ".join(str(p) for p in paths.values()))
    if result.flagged:
        log("FLAGGED: some runs had errors; their throughput is not reported")
        return EXIT_FLAGGED
    return 0
