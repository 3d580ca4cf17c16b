"""Script calls of one event-loop turn share one pipeline: each gets its own answer, a Redis that
lost its scripts (NOSCRIPT) is given them again without the callers seeing it, and a Redis out of
reach fails every call of the batch."""

from __future__ import annotations

import asyncio

import pytest

from bench.services import RedisServer
from gateway.cluster.calls import ScriptCalls
from gateway.cluster.connect import connect
from gateway.cluster.worker import FAILURES

ECHO = "redis.call('INCR', KEYS[1]) return ARGV[1]"


def test_calls_of_one_turn_share_a_pipeline_and_survive_a_script_flush(redis_server: RedisServer):
    async def scenario() -> None:
        client = connect(redis_server.url, 2.0)
        try:
            calls = ScriptCalls(client, ECHO)
            answers = await asyncio.gather(*(calls(["{t}:n"], [str(i)]) for i in range(50)))
            assert answers == [str(i).encode() for i in range(50)]
            assert int(await client.get("{t}:n")) == 50  # each ran once
            # Redis restarted, or failed over to a server without the script:
            await client.script_flush()
            before = (await client.info("commandstats"))["cmdstat_evalsha"]["calls"]
            assert await asyncio.gather(*(calls(["{t}:n"], ["again"]) for _ in range(3))) == [b"again"] * 3
            assert int(await client.get("{t}:n")) == 53
            after = (await client.info("commandstats"))["cmdstat_evalsha"]["calls"]
            assert after - before == 3 + 3  # refused (NOSCRIPT), then sent again with the script
        finally:
            await client.aclose()

    asyncio.run(scenario())


def test_every_call_of_a_batch_fails_when_redis_is_out_of_reach(redis_server: RedisServer):
    redis_server.stop()

    async def scenario() -> None:
        client = connect(redis_server.url, 0.5)
        try:
            calls = ScriptCalls(client, ECHO)
            results = await asyncio.gather(
                *(calls(["{t}:n"], ["x"]) for _ in range(4)), return_exceptions=True
            )
            assert len(results) == 4 and all(isinstance(r, FAILURES) for r in results), results
        finally:
            await client.aclose()

    asyncio.run(scenario())


@pytest.mark.parametrize("n", [1, 7])
def test_a_lone_call_is_sent_at_once(redis_server: RedisServer, n: int):
    async def scenario() -> None:
        client = connect(redis_server.url, 2.0)
        try:
            calls = ScriptCalls(client, ECHO)
            for i in range(n):
                assert await calls(["{t}:n"], [str(i)]) == str(i).encode()
        finally:
            await client.aclose()

    asyncio.run(scenario())
