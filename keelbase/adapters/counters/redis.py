"""Counters in Redis, shared by every node of one app.

Each operation is one Lua script, so concurrent requests on many nodes count
exactly; time is Redis's own clock, so nodes with skewed clocks agree. Every
key expires once its window passed, so Redis holds only live windows.
"""

from __future__ import annotations

import redis.asyncio as redis

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
        self._client: redis.Redis = redis.from_url(url)
        self._consume = self._client.register_script(_CONSUME)
        self._hit = self._client.register_script(_HIT)

    async def consume(self, key: str, limit: int, interval: int) -> bool:
        allowed = await self._consume(keys=[self.prefix + key], args=[limit, interval])
        return bool(allowed)

    async def hit(self, key: str, window: int) -> int:
        return int(await self._hit(keys=[self.prefix + key], args=[window]))

    async def count(self, key: str) -> int:
        value = await self._client.get(self.prefix + key)
        return int(value) if value is not None else 0

    async def reset(self, key: str) -> None:
        await self._client.delete(self.prefix + key)

    async def close(self) -> None:
        await self._client.aclose()
