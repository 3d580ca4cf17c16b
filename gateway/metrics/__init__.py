"""Prometheus metrics of a node: counted per worker (worker.py), summed at scrape (node.py)."""

from .node import (
    CONTENT_TYPE,
    NodeMetrics,
    metrics_dir_path,
    node_metrics_dir,
    prepare_dir,
    reap_dead_workers,
    remove_dir,
)
from .worker import ENV, WorkerMetrics

__all__ = [
    "CONTENT_TYPE",
    "ENV",
    "NodeMetrics",
    "WorkerMetrics",
    "metrics_dir_path",
    "node_metrics_dir",
    "prepare_dir",
    "reap_dead_workers",
    "remove_dir",
]
