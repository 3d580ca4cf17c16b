"""`aigw keys create|list|revoke`: consumer keys in the store (a running node applies a change
within its reload interval). `keys rotate|temp` go through the admin API (gateway/cli/tenancy.py)."""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import closing
from typing import Any

import msgspec

from ..store.records import ConsumerKey
from .context import Context, common_options
from .output import emit, output_option, when


def add_parsers(keys: Any) -> None:
    create = keys.add_parser("create", help="create a key for an app; it is printed once")
    create.add_argument("--app", required=True)
    create.add_argument("--tenant", help="needed only when several tenants have an app of that name")
    create.add_argument("--name", help="a label to recognise the key by")
    create.set_defaults(run=run_create, covers=("POST /admin/keys",))
    listing = keys.add_parser("list", help="list keys: state, expiry (rotated and temporary keys), caps")
    listing.add_argument("--app")
    listing.add_argument("--tenant")
    listing.set_defaults(run=run_list, covers=("GET /admin/keys",))
    revoke = keys.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("key_id")
    revoke.set_defaults(run=run_revoke, covers=("POST /admin/keys/{key_id}/revoke",))
    for p in (create, listing, revoke):
        common_options(p)
    output_option(listing)


def run_create(args: argparse.Namespace, ctx: Context) -> int:
    with closing(ctx.open_store(writes=True)) as store:
        record, secret = store.create_key(args.app, args.tenant, args.name)
    print(secret)
    print(
        f"created {record.id} for {record.tenant}/{record.app}; this is the only time the key is shown",
        file=sys.stderr,
    )
    return 0


def run_revoke(args: argparse.Namespace, ctx: Context) -> int:
    with closing(ctx.open_store(writes=False)) as store:
        record = store.revoke_key(args.key_id)
    print(f"revoked {record.id} ({record.prefix}…) of {record.tenant}/{record.app}")
    return 0


def run_list(args: argparse.Namespace, ctx: Context) -> int:
    with closing(ctx.open_store(writes=False)) as store:
        keys = store.list_keys(args.tenant, args.app)
    now = time.time()
    header = ("id", "prefix", "app", "name", "created", "state", "expires", "revoked", "caps")
    rows = [
        (
            k.id,
            f"{k.prefix}…",
            f"{k.tenant}/{k.app}",
            k.name or "-",
            when(k.created_at),
            state(k, now),
            when(k.expires_at),
            when(k.revoked_at),
            caps(k),
        )
        for k in keys
    ]
    # The records as the admin API lists them, with the state the table shows.
    records = [msgspec.structs.asdict(k) | {"state": state(k, now)} for k in keys]
    emit(args.output, records, header, rows)
    return 0


def state(k: ConsumerKey, now: float) -> str:
    """revoked · expired · temporary · rotated (still valid in its overlap) · active."""
    if k.revoked_at is not None:
        return "revoked"
    if k.expires_at is not None and k.expires_at <= now:
        return "expired"
    if k.temporary:
        return "temporary"
    return "rotated" if k.expires_at is not None else "active"


def caps(k: ConsumerKey) -> str:
    given = [f"{n} {unit}" for n, unit in ((k.max_requests, "requests"), (k.max_tokens, "tokens")) if n]
    return ", ".join(given) or "-"
