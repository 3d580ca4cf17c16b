"""Every upstream test runs on both event loops the gateway may use; parity tests on both clients."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
import uvloop

from .servers import Cert, make_cert

HANG_GUARD_S = 20  # a bug that deadlocks fails the test instead of hanging the suite

Runner = Callable[[Callable[[], Coroutine[Any, Any, Any]]], Any]


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Runner:
    def runner(main: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
        async def guarded() -> Any:
            async with asyncio.timeout(HANG_GUARD_S):
                return await main()

        if request.param == "uvloop":
            return uvloop.run(guarded())
        return asyncio.run(guarded())

    return runner


@pytest.fixture(params=["pool", "aiohttp"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def cert(tmp_path_factory: pytest.TempPathFactory) -> Cert:
    return make_cert(Path(tmp_path_factory.mktemp("tls")))
