"""Body reads in progress share one deadline timer: each read is still cut at its own deadline,
whatever the order the reads began in, and a read that ends in time is never cut."""

from __future__ import annotations

import asyncio

import pytest
import uvloop

from gateway.config.schema import ServerConfig
from gateway.dataplane.body import BodyLimits
from gateway.errors import GatewayError


class Body:
    """granian's protocol object as a body read uses it: the body comes when `send` is called."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.arrived: asyncio.Future[bytes] = loop.create_future()

    def send(self, body: bytes) -> None:
        self.arrived.set_result(body)

    def __call__(self) -> asyncio.Future[bytes]:
        return self.arrived


def limits(loop: asyncio.AbstractEventLoop) -> BodyLimits:
    # 10 bytes a second after no grace: a body of N bytes may take N / 10 seconds.
    server = ServerConfig(body_timeout_s=600, min_body_rate=10, body_rate_grace_s=0)
    return BodyLimits(server, loop)


async def read(bodies: BodyLimits, proto: Body, size: int) -> bytes:
    # A deadline the timer missed would leave the read waiting for good: a failure, not a hang.
    async with asyncio.timeout(60):
        return await bodies.read(proto, str(size))  # type: ignore[arg-type]


def test_a_later_read_with_an_earlier_deadline_is_cut_at_its_own():
    async def main() -> None:
        loop = asyncio.get_running_loop()
        bodies = limits(loop)
        slow, quick = Body(loop), Body(loop)
        long_read = loop.create_task(read(bodies, slow, 3000))  # 300 s allowed
        await asyncio.sleep(0)  # it has begun, and armed the shared timer for its deadline
        with pytest.raises(GatewayError) as cut:
            await read(bodies, quick, 1)  # 0.1 s allowed: sooner than the timer was armed for
        assert cut.value.status == 408 and cut.value.code == "request_timeout"
        assert not long_read.done()  # the other read keeps its own deadline
        slow.send(b"x" * 3000)
        assert await long_read == b"x" * 3000

    uvloop.run(main())


def test_a_read_that_ended_in_time_is_not_cut_when_its_deadline_passes():
    async def main() -> None:
        loop = asyncio.get_running_loop()
        bodies = limits(loop)
        done = Body(loop)
        done.send(b"{}")
        assert await read(bodies, done, 2) == b"{}"  # 0.2 s allowed: the timer is armed for it
        later = Body(loop)
        pending = loop.create_task(read(bodies, later, 3000))  # 300 s allowed
        # A read cut at 0.3 s: the timer has fired past the first read's deadline by then.
        with pytest.raises(GatewayError) as cut:
            await read(bodies, Body(loop), 3)
        assert cut.value.status == 408
        assert not pending.done()  # nothing else was due: the first read ended in time
        later.send(b"y" * 3000)
        assert await pending == b"y" * 3000

    uvloop.run(main())
