"""The config a node serves, as its supervisor checked it, published for the node's workers.

`aigw serve` reads and checks the config file, then writes what it will serve here (the file's
text, where it came from, the command line's overrides, the addresses of the mock providers it
started), with a number that grows with each reload. Every worker builds its tables from this
file, never from the config file itself: a file edited but not reloaded changes nothing, and a
worker that starts later (a respawn) serves what its siblings serve. The file holds the text as
written, `${ENV}` references unexpanded: each worker expands them from the environment it shares
with the supervisor. It is written whole and renamed into place, so a reader sees one version or
the next, never half of one; mode 0600.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import msgspec

from .loader import load_text
from .schema import Config

ENV = "AIGW_NODE_CONFIG"


class Overrides(msgspec.Struct, kw_only=True, omit_defaults=True):
    """`aigw serve`'s command-line options, which win over the file at every reload."""

    workers: int | None = None
    host: str | None = None
    port: int | None = None
    admin_port: int | None = None

    def apply(self, cfg: Config) -> Config:
        s = cfg.server
        s.workers = self.workers if self.workers is not None else s.workers
        s.host = self.host or s.host
        s.port = self.port if self.port is not None else s.port
        s.admin_port = self.admin_port if self.admin_port is not None else s.admin_port
        return cfg


class Published(msgspec.Struct, kw_only=True):
    epoch: int  # 1 at start, one more at each reload
    source: str  # the config file's absolute path; "" for the bundled quickstart
    text: str
    overrides: Overrides = msgspec.field(default_factory=Overrides)
    provider_urls: dict[str, str] = msgspec.field(default_factory=dict)  # `type: mock` providers

    def config(self) -> Config:
        """The config this describes, as the supervisor loaded it."""
        return self.overrides.apply(load_text(self.text, self.source))


def publish(path: str, published: Published) -> None:
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".aigw-config-")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(msgspec.json.encode(published))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read(path: str) -> Published:
    return msgspec.json.decode(Path(path).read_bytes(), type=Published)
