"""Redis pub/sub: every node publishes to one channel and handles what every node published.

A node does not deliver its own events locally first; it hears them back from
Redis like everyone else, so each subscriber gets each event exactly once and
all nodes see one order.

While Redis is unreachable a node keeps working alone: a message it cannot
publish is handled locally at once (its own clients still get its own events,
other nodes miss them), and the subscription is retried every second, so
cross-node delivery resumes by itself when Redis is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import orjson
import redis.asyncio as redis

from keelbase.adapters.broker.base import Handler

log = logging.getLogger("keelbase.broker")
CHANNEL = "keelbase:events"
CONNECT_TIMEOUT = 1.0  # a Redis that is down must not hold a request for long
RETRY_DELAY = 1.0


class RedisBroker:
    def __init__(self, url: str, channel: str = CHANNEL) -> None:
        self.url = url
        self.channel = channel
        self._client: redis.Redis | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._handler: Handler | None = None
        # Set while Redis is known to be unreachable: publishing goes local without
        # first waiting for a connection that will fail, and the outage is logged once.
        self._down = False
        self._retry_at = 0.0

    async def start(self, handler: Handler) -> None:
        self._handler = handler
        self._client = redis.from_url(
            self.url, socket_connect_timeout=CONNECT_TIMEOUT, health_check_interval=5
        )
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
                    if self._down:
                        log.warning("Redis is back; cross-node delivery resumes")
                        self._down = False
                    async for item in pubsub.listen():
                        if item.get("type") != "message":
                            continue
                        try:
                            await handler(orjson.loads(item["data"]))
                        except Exception:
                            log.exception("delivering a broker message failed")
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self._went_down(error)
                await asyncio.sleep(RETRY_DELAY)

    def _went_down(self, error: BaseException) -> None:
        if not self._down:
            self._down = True
            log.error(
                "lost Redis (%s); delivering this node's events locally and retrying every %ss",
                error,
                RETRY_DELAY,
            )

    async def publish(self, message: dict[str, Any]) -> None:
        assert self._client is not None and self._handler is not None, "broker not started"
        # While Redis is known to be down it is tried again once a second, not for
        # every message, so a burst of writes does not each wait for a refused connection.
        if not self._down or time.monotonic() >= self._retry_at:
            data = orjson.dumps(message)
            for attempt in (1, 2):  # a pooled connection Redis closed fails once
                try:
                    await self._client.publish(self.channel, data)
                except (redis.RedisError, OSError) as error:
                    if attempt == 2 or self._down:
                        self._went_down(error)
                        self._retry_at = time.monotonic() + RETRY_DELAY
                        break
                else:
                    if self._down:
                        self._down = False
                        log.warning("Redis is back; cross-node delivery resumes")
                    return
        # Redis is down: this node's own subscribers still hear this node's events.
        await self._handler(message)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None
