"""`aigw tenants list` and `aigw apps list`: the tenants and apps in the store. Creating them goes
through the admin API (gateway/cli/tenancy.py), which checks the caller's role."""

from __future__ import annotations

import argparse
from contextlib import closing
from typing import Any

from .context import Context, common_options
from .output import emit, output_option, when


def add_parsers(tenants: Any, apps: Any) -> None:
    listing = tenants.add_parser("list", help="list tenants")
    listing.set_defaults(run=run_tenants, covers=("GET /admin/tenants",))
    common_options(listing)
    output_option(listing)
    listing = apps.add_parser("list", help="list apps and the model groups they may call")
    listing.add_argument("--tenant")
    listing.set_defaults(run=run_apps, covers=("GET /admin/apps",))
    common_options(listing)
    output_option(listing)


def run_tenants(args: argparse.Namespace, ctx: Context) -> int:
    with closing(ctx.open_store(writes=False)) as store:
        tenants = store.list_tenants()
    emit(args.output, tenants, ("name", "created"), [(t.name, when(t.created_at)) for t in tenants])
    return 0


def run_apps(args: argparse.Namespace, ctx: Context) -> int:
    with closing(ctx.open_store(writes=False)) as store:
        apps = store.list_apps(args.tenant)
    rows = [(f"{a.tenant}/{a.name}", ", ".join(a.models) or "-", when(a.created_at)) for a in apps]
    emit(args.output, apps, ("app", "models", "created"), rows)
    return 0
