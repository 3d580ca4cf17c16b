"""How the CLI prints: times in UTC as ISO 8601 (which `--since` reads back), and tables for people
or JSON and YAML for scripts (`--output`), with the admin API's field names."""

from __future__ import annotations

import argparse
import json
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
