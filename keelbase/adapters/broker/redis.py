"""Redis pub/sub: every node publishes to one channel and handles what every node published.

A node does not deliver its own events locally first; it hears them back from
Redis like everyone else, so each subscriber gets each event exactly once and
all nodes see one order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson
import redis.asyncio as redis

from keelbase.adapters.broker.base import Handler

log = logging.getLogger("keelbase.broker")
CHANNEL = "keelbase:events"


class RedisBroker:
    def __init__(self, url: str, channel: str = CHANNEL) -> None:
        self.url = url
        self.channel = channel
        self._client: redis.Redis | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self, handler: Handler) -> None:
        self._client = redis.from_url(self.url)
        await self._client.ping()
        self._task = asyncio.create_task(self._listen(handler), name="keelbase-redis-broker")
        await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def _listen(self, handler: Handler) -> None:
        assert self._client is not None
        while True:
            try:
                async with self._client.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    self._ready.set()
                    async for item in pubsub.listen():
                        if item.get("type") != "message":
                            continue
                        try:
                            await handler(orjson.loads(item["data"]))
                        except Exception:
                            log.exception("delivering a broker message failed")
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("lost the Redis subscription; retrying in 1s")
                await asyncio.sleep(1)

    async def publish(self, message: dict[str, Any]) -> None:
        assert self._client is not None, "broker not started"
        await self._client.publish(self.channel, orjson.dumps(message))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None
