"""`aigw cluster status`: the nodes of the cluster as the running node sees them (admin API)."""

from __future__ import annotations

import argparse
import time
from typing import Any

from .context import Context, admin_options
from .output import document, output_option


def add_cluster_parser(sub: Any) -> None:
    cluster = sub.add_parser("cluster", help="the nodes of a cluster").add_subparsers(
        dest="action", required=True
    )
    status = cluster.add_parser("status", help="nodes, versions, config generations, heartbeats, states")
    admin_options(status)
    output_option(status)
    status.set_defaults(run=run_cluster_status, covers=("GET /admin/cluster",))


def run_cluster_status(args: argparse.Namespace, ctx: Context) -> int:
    status = ctx.admin("GET", "/admin/cluster")
    if args.output != "table":
        print(document(args.output, status))
        return 0
    if not status["clustered"]:
        print(f"node {status['node']}: on its own (no cluster.redis_url)")
    else:
        state = "DEGRADED: Redis unreachable, serving on local state" if status["degraded"] else "serving"
        if status["degraded"] and status["degraded_since"]:
            state += f" for {time.time() - status['degraded_since']:.0f}s"
        print(
            f"node {status['node']}: {state}; limits {status['limits']}; {status['live_nodes']} live node(s)"
        )
    now = time.time()
    print(f"{'node':<28} {'version':<10} {'generation':>10} {'heartbeat':>10}  state")
    for n in status["nodes"]:
        ago = now - n["heartbeat"]
        print(f"{n['id']:<28} {n['version']:<10} {n['generation']:>10} {ago:>9.1f}s  {n['state']}")
    return 0
