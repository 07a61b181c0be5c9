"""Counters in Redis, shared by every node of one app.

Each operation is one Lua script, so concurrent requests on many nodes count
exactly; time is Redis's own clock, so nodes with skewed clocks agree. Every
key expires once its window passed, so Redis holds only live windows.

While Redis is unreachable each node counts in its own memory instead (logged
once per outage): a limit then holds per node rather than across nodes, which
is weaker but keeps sign-ins and every rate-limited route answering instead of
failing all requests for as long as Redis is away.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.asyncio as redis

from keelbase.adapters.counters.memory import MemoryCounters

log = logging.getLogger("keelbase.counters")
T = TypeVar("T")
TIMEOUT = 1.0  # a Redis that is down must not hold a request for long
RETRY_AFTER = 2.0  # seconds of local counting before Redis is tried again

# KEYS[1]: the window; ARGV: limit, interval. PocketBase's window: the allowance
# refills when ``interval`` seconds passed since the last allowed request.
_CONSUME = """
local now = tonumber(redis.call('TIME')[1])
local limit = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'a', 't')
local available = tonumber(state[1]) or 0
local last = tonumber(state[2]) or 0
if now - last >= interval then available = limit end
if available > 0 then
  redis.call('HSET', KEYS[1], 'a', available - 1, 't', now)
  redis.call('EXPIRE', KEYS[1], interval + 1)
  return 1
end
return 0
"""

# KEYS[1]: the counter; ARGV[1]: the window in seconds, started by the first event.
_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1])) end
return count
"""


class RedisCounters:
    def __init__(self, url: str, prefix: str) -> None:
        self.prefix = prefix
        self._client: redis.Redis = redis.from_url(
            url, socket_connect_timeout=TIMEOUT, socket_timeout=TIMEOUT
        )
        self._consume = self._client.register_script(_CONSUME)
        self._hit = self._client.register_script(_HIT)
        self._local = MemoryCounters()
        self._down_until = 0.0  # monotonic time before which Redis is not tried
        self._down = False

    async def _either(
        self, shared: Callable[[], Awaitable[T]], local: Callable[[], Awaitable[T]]
    ) -> T:
        if time.monotonic() >= self._down_until:
            try:
                value = await shared()
            except (redis.RedisError, OSError) as error:
                self._down_until = time.monotonic() + RETRY_AFTER
                if not self._down:
                    self._down = True
                    log.error("lost Redis (%s); counting on this node until it is back", error)
            else:
                if self._down:
                    self._down = False
                    log.warning("Redis is back; counters are shared again")
                return value
        return await local()

    async def consume(self, key: str, limit: int, interval: int) -> bool:
        async def shared() -> bool:
            return bool(await self._consume(keys=[self.prefix + key], args=[limit, interval]))

        return await self._either(shared, lambda: self._local.consume(key, limit, interval))

    async def hit(self, key: str, window: int) -> int:
        async def shared() -> int:
            return int(await self._hit(keys=[self.prefix + key], args=[window]))

        return await self._either(shared, lambda: self._local.hit(key, window))

    async def count(self, key: str) -> int:
        async def shared() -> int:
            value = await self._client.get(self.prefix + key)
            return int(value) if value is not None else 0

        return await self._either(shared, lambda: self._local.count(key))

    async def reset(self, key: str) -> None:
        async def shared() -> None:
            await self._client.delete(self.prefix + key)

        await self._local.reset(key)
        await self._either(shared, _nothing)

    async def close(self) -> None:
        await self._client.aclose()
        await self._local.close()


async def _nothing() -> None:
    return None
