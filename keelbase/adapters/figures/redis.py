"""Buckets in Redis hashes, shared by every node and worker of one app.

Each node adds its counts with HINCRBY (atomic per field, so concurrent nodes
never lose an increment) and renews the bucket's expiry, so Redis holds only
the buckets the health figures still look at.
"""

from __future__ import annotations

import redis.asyncio as redis

from keelbase.adapters.figures.base import Batch

PING_TIMEOUT = 1.0


class RedisBuckets:
    def __init__(self, url: str, prefix: str) -> None:
        self.prefix = prefix
        self._client: redis.Redis = redis.from_url(
            url, socket_timeout=PING_TIMEOUT * 2, socket_connect_timeout=PING_TIMEOUT
        )

    async def add(self, batch: Batch) -> None:
        pipe = self._client.pipeline(transaction=False)
        for key, increments, ttl in batch:
            name = self.prefix + key
            for field, count in increments.items():
                pipe.hincrby(name, field, count)
            pipe.expire(name, ttl)
        await pipe.execute()

    async def read(self, keys: list[str]) -> list[dict[str, int]]:
        pipe = self._client.pipeline(transaction=False)
        for key in keys:
            pipe.hgetall(self.prefix + key)
        answers = await pipe.execute()
        return [{name.decode(): int(value) for name, value in answer.items()} for answer in answers]

    async def ping(self) -> bool:
        try:
            return bool(await self._client.ping())
        except (redis.RedisError, OSError):
            return False

    async def close(self) -> None:
        await self._client.aclose()
