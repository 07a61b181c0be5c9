"""Presence in Redis, shared by every node of one app.

One hash per topic (field: the presence key, value: the entry's JSON) and one
sorted set of every entry's expiry time. Each node refreshes the expiry of its
own clients' entries (``ZADD XX``: never bringing back a removed one); when a
node dies they expire, and whichever node's sweep removes an entry first
(``ZREM`` answers 1 to one caller only) announces the leave.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
import redis.asyncio as redis

SEPARATOR = "\x00"


class RedisPresence:
    def __init__(self, url: str, prefix: str) -> None:
        self.prefix = prefix
        self._client: redis.Redis = redis.from_url(url)
        self._expiry = f"{prefix}presence-expiry"

    def _key(self, topic: str) -> str:
        return f"{self.prefix}presence:{topic}"

    async def put(self, topic: str, key: str, value: dict[str, Any], ttl: float) -> bool:
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.hset(self._key(topic), key, orjson.dumps(value))
            pipe.zadd(self._expiry, {topic + SEPARATOR + key: time.time() + ttl})
            added, _ = await pipe.execute()
        return bool(added)

    async def remove(self, topic: str, key: str) -> dict[str, Any] | None:
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.hget(self._key(topic), key)
            pipe.hdel(self._key(topic), key)
            pipe.zrem(self._expiry, topic + SEPARATOR + key)
            raw, deleted, _ = await pipe.execute()
        if not deleted or raw is None:
            return None
        value: dict[str, Any] = orjson.loads(raw)
        return value

    async def members(self, topic: str) -> list[dict[str, Any]]:
        entries: dict[bytes, bytes] = await self._client.hgetall(self._key(topic))  # type: ignore[assignment]
        if not entries:
            return []
        keys = [k.decode() for k in entries]
        async with self._client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.zscore(self._expiry, topic + SEPARATOR + key)
            expiries = await pipe.execute()
        now = time.time()
        live = [
            orjson.loads(entries[key.encode()])
            for key, expires in zip(keys, expiries, strict=True)
            if expires is not None and expires > now
        ]
        return sorted(live, key=lambda v: str(v.get("joined", "")))

    async def refresh(self, entries: list[tuple[str, str]], ttl: float) -> None:
        if entries:
            expires = time.time() + ttl
            await self._client.zadd(
                self._expiry, {t + SEPARATOR + k: expires for t, k in entries}, xx=True
            )

    async def expired(self) -> list[tuple[str, dict[str, Any]]]:
        gone: list[tuple[str, dict[str, Any]]] = []
        due: list[bytes] = await self._client.zrangebyscore(self._expiry, "-inf", time.time())  # type: ignore[assignment]
        for member in due:
            if not await self._client.zrem(self._expiry, member):
                continue  # another node's sweep took it
            topic, _, key = member.decode().partition(SEPARATOR)
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.hget(self._key(topic), key)
                pipe.hdel(self._key(topic), key)
                raw, _ = await pipe.execute()
            if raw is not None:
                gone.append((topic, orjson.loads(raw)))
        return gone

    async def close(self) -> None:
        await self._client.aclose()
