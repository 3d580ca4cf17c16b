"""Script calls to Redis, sent together: every call a worker makes in one turn of its event loop
goes out in one pipeline, so many requests in flight share one round trip and one write.

EVALSHA is sent as is; a server that answers NOSCRIPT (restarted, failed over) is given the script
(SCRIPT LOAD) and the calls it refused are sent again, once.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from redis.exceptions import NoScriptError


class ScriptCalls:
    def __init__(self, redis: Any, source: str):
        self._redis = redis
        self._source = source
        self._sha = hashlib.sha1(source.encode()).hexdigest()
        self._pending: list[tuple[list[str], list[Any], asyncio.Future[Any]]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def __call__(self, keys: list[str], args: list[Any]) -> asyncio.Future[Any]:
        """The script's answer for `keys` and `args`, once the pipeline it joins is back."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._send)  # after this turn's other callbacks: they join this one
        self._pending.append((keys, args, future))
        return future

    def _send(self) -> None:
        batch, self._pending = self._pending, []
        task = asyncio.ensure_future(self._run(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: list[tuple[list[str], list[Any], asyncio.Future[Any]]]) -> None:
        try:
            replies = await self._pipeline(batch)
            refused = [i for i, r in enumerate(replies) if isinstance(r, NoScriptError)]
            if refused:
                await self._redis.script_load(self._source)
                again = await self._pipeline([batch[i] for i in refused])
                for i, reply in zip(refused, again, strict=True):
                    replies[i] = reply
        except BaseException as exc:  # the server out of reach: every call of the batch fails
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        for (_, _, future), reply in zip(batch, replies, strict=True):
            if future.done():
                continue
            if isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result(reply)

    async def _pipeline(self, batch: list[tuple[list[str], list[Any], asyncio.Future[Any]]]) -> list[Any]:
        pipe = self._redis.pipeline(transaction=False)
        for keys, args, _ in batch:
            pipe.evalsha(self._sha, len(keys), *keys, *args)
        replies: list[Any] = await pipe.execute(raise_on_error=False)
        return replies
