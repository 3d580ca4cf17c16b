"""aigw's own log lines, as `logging:` asks: text or one JSON object per line, on stderr, from the
supervisor and every worker alike (granian's own lines included), at the level it names. Times are
UTC, ISO 8601 with milliseconds. Applied at start and again at every reload."""

from __future__ import annotations

import logging
import sys
import time
import traceback
from typing import Any

import msgspec

from ..config.observability import LoggingConfig

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
GRANIAN = "_granian"  # granian's logger (its Rust side logs through it too)


def utc_time(ts: float) -> str:
    """`2026-12-07T18:28:39.123Z`."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = f"{utc_time(record.created)} {record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, pid, and the exception when any."""

    _encoder = msgspec.json.Encoder()

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": utc_time(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        if record.exc_info:
            doc["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return self._encoder.encode(doc).decode()


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg,unused-ignore]
    """aigw's handler: stderr, in the format `logging:` names (stdout carries the access log)."""

    def __init__(self, format: str = "text") -> None:
        super().__init__(sys.stderr)
        self.setFormatter(JsonFormatter() if format == "json" else TextFormatter())


def configure(cfg: LoggingConfig) -> None:
    """Make this process log as `cfg` says: its root logger and granian's, one handler each."""
    level = LEVELS[cfg.level]
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, logging.StreamHandler)]:
        root.removeHandler(old)
    root.addHandler(StderrHandler(cfg.format))
    root.setLevel(level)
    granian = logging.getLogger(GRANIAN)
    granian.handlers = [StderrHandler(cfg.format)]
    granian.propagate = False
    granian.setLevel(max(level, logging.WARNING))  # its INFO lines are per-process chatter


def granian_dictconfig(cfg: LoggingConfig) -> dict[str, Any]:
    """granian's own logging (its `log_dictconfig`), for the processes it starts: to stderr, in
    aigw's format, before aigw's code runs in them."""
    handler = {"()": f"{__name__}.StderrHandler", "format": cfg.format}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"stderr": handler},
        "formatters": {},
        "loggers": {
            GRANIAN: {"handlers": ["stderr"], "propagate": False},
            "granian.access": {"handlers": ["stderr"], "propagate": False},
        },
        "root": {"handlers": ["stderr"], "level": cfg.level.upper()},
    }
