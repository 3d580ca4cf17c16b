"""The `aigw` command line. `aigw serve` runs a node. Store commands (keys, apps, tenants, limits,
budgets, logs, stats) work on the store the config names, with or without a running gateway
(a running one applies a change within 1 s); admin commands call the running node's admin API.

Every command's parser carries `run` (its handler) and `covers` (the admin API operations it
does), which tests/cli/test_coverage.py compares with the admin API's OpenAPI document."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from .._version import __version__
from ..config import Config, ConfigError, load_config
from ..node.startup import StartupError
from ..store import Ambiguous, Conflict, NotFound
from ..store.sealing import SealingError
from . import consumer_keys, tenancy, tenants
from .admin_client import AdminCallFailed
from .budgets import add_budgets_parser
from .cluster import add_cluster_parser
from .completion import add_completion_parser
from .context import Context, NoStore
from .limits import add_limits_parser
from .logs import add_logs_parser
from .models import add_models_parser
from .reload import add_reload_parsers
from .secrets import NoSecret
from .stats import add_stats_parser
from .status import add_status_parser
from .upstream_keys import add_upstream_keys_parser


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="aigw", description="aigw — AI gateway")
    p.add_argument("--version", action="version", version=f"aigw {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gateway (data plane + admin listener)")
    serve.add_argument("--config", help="config file (default: the bundled quickstart config)")
    serve.add_argument("--workers", type=int, help="worker processes (default: one per core)")
    serve.add_argument("--host", help="data-plane bind address")
    serve.add_argument("--port", type=int, help="data-plane port")
    serve.add_argument("--admin-port", type=int, help="admin listener port")
    serve.add_argument("--debug", action="store_true", help="show the traceback of an unexpected error")
    serve.set_defaults(run=_serve, covers=())

    config = sub.add_parser("config", help="work with config files").add_subparsers(
        dest="action", required=True
    )
    check = config.add_parser("check", help="validate a config file and print every problem")
    check.add_argument("file")
    check.set_defaults(run=_check, covers=())
    config.add_parser("quickstart", help="print the bundled quickstart config").set_defaults(
        run=_quickstart, covers=()
    )
    add_reload_parsers(sub, config)

    groups = {
        "keys": sub.add_parser("keys", help="consumer API keys (provider keys: aigw upstream-keys)"),
        "apps": sub.add_parser("apps", help="apps"),
        "tenants": sub.add_parser("tenants", help="tenants"),
    }
    shared = {name: g.add_subparsers(dest="action", required=True) for name, g in groups.items()}
    consumer_keys.add_parsers(shared["keys"])
    tenants.add_parsers(shared["tenants"], shared["apps"])
    # Listed for --help only: main() hands `aigw bench …` to the bench harness's own parser.
    sub.add_parser("bench", help="load-test aigw, nginx and any URL (python -m bench; docs/benchmarks.md)")
    add_logs_parser(sub)
    add_stats_parser(sub)
    add_upstream_keys_parser(sub)
    add_limits_parser(sub)
    add_budgets_parser(sub)
    add_status_parser(sub)
    add_cluster_parser(sub)
    add_models_parser(sub)
    tenancy.add_parsers(sub, shared)
    add_completion_parser(sub, p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:
        from bench.cli import main as bench_main

        return bench_main(argv[1:], prog="aigw bench")
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        code: int = args.run(args, Context(args))
        sys.stdout.flush()  # here, so a closed pipe is met inside the try
        return code
    except (ConfigError, SealingError, NoStore, NoSecret) as exc:
        return _fail(exc, 2)
    except (NotFound, Ambiguous, Conflict) as exc:
        return _fail(exc.args[0], 1)
    except (AdminCallFailed, StartupError) as exc:
        return _fail(exc, 1)
    except BrokenPipeError:
        # `aigw logs | head`: the reader has all it wants. Point stdout at /dev/null so the
        # interpreter's final flush does not fail again, and exit quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # what a shell reports for a process ended by SIGPIPE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if getattr(args, "debug", False):
            raise
        return _fail(f"{type(exc).__name__}: {exc} (--debug shows the traceback)", 1)


def _fail(problem: object, code: int) -> int:
    print(f"aigw: {problem}", file=sys.stderr)
    return code


def _check(args: argparse.Namespace, ctx: Context) -> int:
    load_config(args.file)
    print(f"{args.file}: OK")
    return 0


def _quickstart(args: argparse.Namespace, ctx: Context) -> int:
    from ..config.loader import quickstart_text

    print(quickstart_text(), end="")
    return 0


def _serve(args: argparse.Namespace, ctx: Context) -> int:
    from ..config.loader import load_text, read_source
    from ..config.published import Overrides
    from ..node.reload import NodeConfig
    from ..node.supervisor import run_node

    text, source = read_source(args.config)
    # The command line's options win over the file, at start and at every reload.
    overrides = Overrides(workers=args.workers, host=args.host, port=args.port, admin_port=args.admin_port)
    cfg: Config = overrides.apply(load_text(text, source, shown=args.config))
    import uvloop

    return uvloop.run(run_node(NodeConfig(args.config, overrides, text, source, cfg)))
