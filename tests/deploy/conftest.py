"""The built distribution and its install, made once per session: building the wheel compiles
the native core, and installing it fetches the dependencies."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .install import Dist, Install, build, install, remove, world_readable_dir


@pytest.fixture(scope="session")
def dist() -> Iterator[Dist]:
    out = world_readable_dir("aigw-dist-")
    try:
        yield build(out)
    finally:
        remove(out)


@pytest.fixture(scope="session")
def installed(dist: Dist) -> Iterator[Install]:
    prefix = world_readable_dir("aigw-venv-")
    try:
        yield install(dist.wheel, prefix)
    finally:
        remove(prefix)
