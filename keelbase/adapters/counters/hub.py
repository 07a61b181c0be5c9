"""Counters in the local hub, shared by every worker of one ``keelbase serve``.

The hub runs one operation at a time on its in-memory counters, so a window's
check and take is atomic across workers, with the same windows as
``MemoryCounters`` (the hub uses it). While the hub is unreachable each worker
counts in its own memory, as the Redis counters do while Redis is away.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from keelbase.adapters.counters.memory import MemoryCounters
from keelbase.adapters.hub.client import HubClient, HubUnavailable

T = TypeVar("T")


class HubCounters:
    def __init__(self, client: HubClient, space: str) -> None:
        self.client = client
        self.space = space  # the rate limits and the sign-in counters count apart
        self._local = MemoryCounters()

    async def _either(
        self, convert: Callable[[Any], T], local: Callable[[], Awaitable[T]], *call: Any
    ) -> T:
        if self.client.connected:
            try:
                return convert(await self.client.call(*call))
            except HubUnavailable:
                pass
        return await local()

    async def consume(self, key: str, limit: int, interval: int) -> bool:
        return await self._either(
            bool,
            lambda: self._local.consume(key, limit, interval),
            "consume", self.space, key, limit, interval,
        )  # fmt: skip

    async def hit(self, key: str, window: int) -> int:
        return await self._either(
            int, lambda: self._local.hit(key, window), "hit", self.space, key, window
        )

    async def count(self, key: str) -> int:
        return await self._either(int, lambda: self._local.count(key), "count", self.space, key)

    async def reset(self, key: str) -> None:
        await self._local.reset(key)
        await self._either(lambda _: None, _nothing, "reset", self.space, key)

    async def close(self) -> None:
        await self._local.close()  # the connection belongs to the broker, which closes it


async def _nothing() -> None:
    return None
