"""How the CLI prints: times in UTC as ISO 8601 (which `--since` reads back), and tables for people
or JSON and YAML for scripts (`--output`), with the admin API's field names."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

import msgspec
import yaml

FORMATS = ("table", "json", "yaml")


def when(ts: float | None) -> str:
    """A Unix time as `2026-11-26T10:15:03Z`; '-' for none."""
    return "-" if ts is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns two spaces apart, the header first."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows]
    )


class Progress:
    """How far a long command has got, on one line of stderr rewritten in place — only when
    stderr is a terminal and stdout is not (`aigw logs --csv > calls.csv`): never in a script's
    output, never mixed into what stdout shows."""

    def __init__(self, noun: str):
        self._noun = noun
        self._done = 0
        self._on = sys.stderr.isatty() and not sys.stdout.isatty()

    def add(self, n: int) -> None:
        self._done += n
        if self._on:
            print(f"\r{self._done:,} {self._noun}", end="", file=sys.stderr, flush=True)

    def end(self) -> None:
        if self._on and self._done:
            print(file=sys.stderr)


def output_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-o",
        "--output",
        choices=FORMATS,
        default="table",
        help="table (default), or json / yaml for scripts: the admin API's fields, times in ISO 8601 UTC",
    )


def export_output_option(group: argparse._MutuallyExclusiveGroup) -> None:
    """`-o` beside `--json` and `--csv` on the call log and stats, whose JSON is a stream."""
    group.add_argument(
        "-o", "--output", choices=("table", "json", "csv"), default="table", help="as --json, --csv"
    )


def fold_output(args: argparse.Namespace) -> None:
    """`-o json` and `-o csv` as `--json` and `--csv`."""
    args.json = args.json or args.output == "json"
    args.csv = args.csv or args.output == "csv"


def emit(fmt: str, value: Any, header: Sequence[str] = (), rows: Sequence[Sequence[str]] = ()) -> None:
    """Print `value` (records: structs, dicts, lists) as JSON or YAML, or the table for people."""
    if fmt == "table":
        print(table(header, rows))
    else:
        print(document(fmt, value))


def document(fmt: str, value: Any) -> str:
    """`value` as a JSON or YAML document, with its Unix times as ISO 8601."""
    plain = iso_times(msgspec.to_builtins(value))
    if fmt == "yaml":
        return str(yaml.safe_dump(plain, sort_keys=False, allow_unicode=True)).rstrip("\n")
    return json.dumps(plain, indent=2, ensure_ascii=False)


def json_line(value: Any) -> str:
    """`value` as one line of JSON (JSON Lines: a stream a script reads line by line)."""
    return json.dumps(iso_times(msgspec.to_builtins(value)), ensure_ascii=False)


def iso_times(value: Any, key: str = "") -> Any:
    """`value` with its Unix times (`ts`, `at`, `*_at`) as ISO 8601, like every time the CLI prints."""
    if isinstance(value, dict):
        return {k: iso_times(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [iso_times(v, key) for v in value]
    if (
        (key in ("ts", "at") or key.endswith("_at"))
        and isinstance(value, (int, float))
        and not isinstance(value, bool)
    ):
        return when(value)
    return value
