"""`aigw models sync --from FILE`: update the model capability table from a published catalogue
(gateway/models/sync.py says which, and what is taken from it)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..models.catalog import TABLE, read
from ..models.sync import sync
from .context import Context


def add_models_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    models = sub.add_parser("models", help="the model capability table").add_subparsers(
        dest="action", required=True
    )
    syncing = models.add_parser(
        "sync",
        help="update the capability table from LiteLLM's model_prices_and_context_window.json",
        description="Reads LiteLLM's catalogue (MIT) and rewrites the table aigw ships, or --output. "
        "Nodes read the table when they start.",
    )
    syncing.add_argument("--from", dest="source", required=True, type=Path, help="the catalogue's JSON file")
    syncing.add_argument("--output", type=Path, default=TABLE, help=f"default: {TABLE}")
    syncing.add_argument("--version", help="what the catalogue is (default: the file's name)")
    syncing.set_defaults(run=run_sync, covers=())  # works on files, not the admin API


def run_sync(args: argparse.Namespace, ctx: Context) -> int:
    before = read(args.output).models if args.output.exists() else {}
    table = sync(args.source, args.output, args.version)
    added = sorted(set(table.models) - set(before))
    changed = sorted(name for name in set(table.models) & set(before) if table.models[name] != before[name])
    removed = sorted(set(before) - set(table.models))
    print(f"{args.output}: {len(table.models)} models from {table.catalogue.version}")
    for label, names in (("added", added), ("changed", changed), ("removed", removed)):
        if names:
            print(f"  {label} {len(names)}: {', '.join(names[:8])}{' …' if len(names) > 8 else ''}")
    return 0
