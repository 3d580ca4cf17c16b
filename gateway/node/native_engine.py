"""aigw's native HTTP/1.1 front as the data plane's engine (gateway/front): one process per
worker on one port; the `server:` limits on heads and connections enforced in the front, those on
bodies in the worker as on granian (gateway/dataplane/body.py)."""

from __future__ import annotations

from ..config.schema import LoggingConfig, ServerConfig
from ..front import FrontSettings, Limits
from ..front.workers import run
from ..telemetry.logs import configure


def settings(app: str, server: ServerConfig) -> FrontSettings:
    return FrontSettings(
        app=app,
        host=server.host,
        port=server.port,
        limits=Limits(
            header_timeout_s=server.header_timeout_s,
            idle_timeout_s=server.idle_timeout_s,
            keepalive_timeout_s=server.keepalive_timeout_s,
            max_header_bytes=server.max_header_bytes,
            max_requests_per_connection=server.max_requests_per_connection,
            shutdown_timeout_s=server.shutdown_timeout_s,
        ),
    )


def serve(app: str, server: ServerConfig, logging: LoggingConfig, workers: int) -> int:
    # This process's lines (worker exits, drains) in the node's format; each worker's app sets up
    # its own. The front's default format applies only where no handler was configured.
    configure(logging)
    return run(settings(app, server), workers)
