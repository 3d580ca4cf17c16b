"""The scenario registry. A scenario is one module here exposing `SCENARIO`; adding one means
writing its module and naming it in `MODULES` — the command line picks it up from there."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..procs import Processes
from ..report import Report

MODULES = ("passthrough", "translate", "limits", "exhaustion", "stream", "scale", "soak", "cluster", "url")


@dataclass
class RunContext:
    """What a scenario gets: its options, a place for configs and logs, and the child owner."""

    args: argparse.Namespace
    procs: Processes
    run_dir: Path
    aigw_cores: str
    load_cores: str
    header: dict[str, object]
    available_cores: frozenset[int]  # the cores this run may use (before the harness pinned itself)

    @property
    def load_cores_set(self) -> set[int]:
        from ..cli import parse_cores

        return parse_cores(self.load_cores)


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str  # one line for --help
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[RunContext], Report]
    defaults: dict[str, object] | None = None  # overrides of the common options' defaults


def load() -> dict[str, Scenario]:
    scenarios = {}
    for name in MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        scenario: Scenario = module.SCENARIO
        scenarios[scenario.name] = scenario
    return scenarios
