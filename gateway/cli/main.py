"""The `aigw` command line. `aigw serve` runs a node; the other commands work on the store the
config names, so they need no running gateway (changes reach running workers within 1 s)."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence

from .._version import __version__
from ..config import Config, ConfigError, load_config
from ..config.seed import seed
from ..store import Ambiguous, NotFound, Store, open_store
from ..store.sealing import SealingError
from . import tenancy
from .budgets import add_budgets_parser, run_budgets
from .logs import add_logs_parser, run_logs
from .stats import add_stats_parser, run_stats
from .upstream_keys import add_upstream_keys_parser, run_upstream_keys


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="aigw", description="aigw — AI gateway")
    p.add_argument("--version", action="version", version=f"aigw {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gateway (data plane + admin listener)")
    serve.add_argument("--config", help="config file (default: the bundled quickstart config)")
    serve.add_argument("--workers", type=int, help="worker processes (default: one per core)")
    serve.add_argument("--host", help="data-plane bind address")
    serve.add_argument("--port", type=int, help="data-plane port")
    serve.add_argument("--admin-port", type=int, help="admin listener port")

    config = sub.add_parser("config", help="work with config files").add_subparsers(
        dest="action", required=True
    )
    check = config.add_parser("check", help="validate a config file and print every problem")
    check.add_argument("file")
    config.add_parser("quickstart", help="print the bundled quickstart config")

    keys = sub.add_parser("keys", help="consumer API keys").add_subparsers(dest="action", required=True)
    create = keys.add_parser("create", help="create a key for an app; it is printed once")
    create.add_argument("--app", required=True)
    create.add_argument("--tenant", help="needed only when several tenants have an app of that name")
    create.add_argument("--name", help="a label to recognise the key by")
    create.add_argument("--config")
    listing = keys.add_parser("list", help="list keys (visible prefixes only)")
    listing.add_argument("--app")
    listing.add_argument("--tenant")
    listing.add_argument("--config")
    revoke = keys.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("key_id")
    revoke.add_argument("--config")
    status = keys.add_parser("status", help="provider keys on the running node: state, headroom, until when")
    status.add_argument("--config")
    status.add_argument("--admin-url", help="default: the config's admin listener")

    apps = sub.add_parser("apps", help="apps").add_subparsers(dest="action", required=True)
    apps_list = apps.add_parser("list", help="list apps")
    apps_list.add_argument("--tenant")
    apps_list.add_argument("--config")
    # Listed for --help only: main() hands `aigw bench …` to the bench harness's own parser.
    sub.add_parser("bench", help="load-test aigw, nginx and any URL (python -m bench; docs/benchmarks.md)")
    add_logs_parser(sub)
    add_stats_parser(sub)
    add_upstream_keys_parser(sub)
    tenancy.add_parsers(sub, keys, apps)
    add_budgets_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:
        from bench.cli import main as bench_main

        return bench_main(argv[1:], prog="aigw bench")
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return _dispatch(args)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except (NotFound, Ambiguous) as exc:
        print(f"aigw: {exc.args[0]}", file=sys.stderr)
        return 1
    except SealingError as exc:
        print(f"aigw: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "serve":
        return _serve(args)
    if args.command == "config":
        if args.action == "quickstart":
            from ..config.loader import quickstart_text

            print(quickstart_text(), end="")
            return 0
        load_config(args.file)
        print(f"{args.file}: OK")
        return 0
    cfg = load_config(getattr(args, "config", None))
    if getattr(args, "admin_command", None) is not None:
        return tenancy.run(args, cfg)
    if args.command == "keys" and args.action == "status":
        from .upstream_status import run_status

        return run_status(cfg, args.admin_url)
    if args.command == "upstream-keys":
        return run_upstream_keys(args, cfg)
    store = open_store(url=cfg.store.url, path=cfg.store.path)
    seed(store, cfg)  # so apps the config declares can get keys before the first `serve`
    try:
        if args.command == "logs":
            return run_logs(args, store)
        if args.command == "stats":
            return run_stats(args, store)
        if args.command == "keys":
            return _keys(args, store)
        if args.command == "budgets":
            return run_budgets(args, store)
        for app in store.list_apps(args.tenant):
            print(f"{app.tenant}/{app.name}\tmodels: {', '.join(app.models)}")
        return 0
    finally:
        store.close()


def _serve(args: argparse.Namespace) -> int:
    from ..node.supervisor import run_node

    cfg: Config = load_config(args.config)
    s = cfg.server
    s.workers = args.workers if args.workers is not None else s.workers
    s.host = args.host or s.host
    s.port = args.port if args.port is not None else s.port
    s.admin_port = args.admin_port if args.admin_port is not None else s.admin_port
    import uvloop

    return uvloop.run(run_node(cfg, args.config))


def _keys(args: argparse.Namespace, store: Store) -> int:
    if args.action == "create":
        record, secret = store.create_key(args.app, args.tenant, args.name)
        print(secret)
        print(
            f"created {record.id} for {record.tenant}/{record.app}; this is the only time the key is shown",
            file=sys.stderr,
        )
        return 0
    if args.action == "revoke":
        record = store.revoke_key(args.key_id)
        print(f"revoked {record.id} ({record.prefix}…) of {record.tenant}/{record.app}")
        return 0
    for k in store.list_keys(args.tenant, args.app):
        state = "revoked " + _when(k.revoked_at) if k.revoked_at else "active"
        owner, label = f"{k.tenant}/{k.app}", k.name or "-"
        print(f"{k.id}\t{k.prefix}…\t{owner}\t{label}\tcreated {_when(k.created_at)}\t{state}")
    return 0


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))
